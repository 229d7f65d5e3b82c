/**
 * All SQL of the sessions analytics (issue 14). A session counts on the day it started in the asked time
 * zone: the range is [from 00:00, to + 1 day 00:00) in that zone, so PostgreSQL does the calendar (DST
 * included) and the range is an index range on started_at: idx_sessions_user_started for one user,
 * idx_sessions_started_analytics (0034, covering) for everyone's. Every value is a parameter.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { DB, RecordingType, SessionEventDetail, SessionEventKind } from '../db/schema.js';
import type { AnalyticsStatus } from './analytics.schemas.js';

export interface SessionFilter {
  /** YYYY-MM-DD, checked by the service; both days included. */
  from: string;
  to: string;
  /** A name from pg_timezone_names (the service checks it). */
  tz: string;
  userId?: string;
  projectId?: string;
  recordingType?: RecordingType;
}

/** Counts of one group (all, a day, a type). started = completed + interrupted + discarded + active. */
export interface OutcomeRow {
  started: number;
  completed: number;
  interrupted: number;
  discarded: number;
  active: number;
  p50: number | null;
  p95: number | null;
}

export interface SummaryRows {
  total: OutcomeRow;
  byDay: (OutcomeRow & { day: string })[];
  byType: (OutcomeRow & { recordingType: RecordingType })[];
}

export type BreakdownDimension = 'browser' | 'os' | 'device' | 'quality' | 'mode';

export interface BreakdownRow {
  dimension: BreakdownDimension;
  name: string;
  sessions: number;
  interrupted: number;
}

export interface ListCursor {
  startedAt: string;
  id: string;
}

/** A group of the summary: grouping() of its statement, and its day or type when grouped by one. */
interface Keyed {
  set: number;
  day: string | null;
  recording_type: RecordingType | null;
}

type CountRow = Keyed & Omit<RawOutcome, 'p50' | 'p95'> & Record<'browser' | 'os' | 'device' | 'quality', string>;

/**
 * grouping(day, recording_type, browser, os, device, quality): one bit per column, the first the highest,
 * set for each column a row is NOT grouped by.
 */
const GROUPED = { total: 0b111111, day: 0b011111, type: 0b101111 };
const BREAKDOWNS: [number, Exclude<BreakdownDimension, 'mode'>][] = [
  [0b110111, 'browser'],
  [0b111011, 'os'],
  [0b111101, 'device'],
  [0b111110, 'quality'],
];

const EMPTY_OUTCOME: OutcomeRow = {
  started: 0,
  completed: 0,
  interrupted: 0,
  discarded: 0,
  active: 0,
  p50: null,
  p95: null,
};

/** The day a session started on, in the filter's time zone. */
const dayOf = (f: SessionFilter) => sql`(started_at AT TIME ZONE ${f.tz})::date`;

/** A session as the list and the drill-down show it. */
export type AnalyticsSessionRow = Awaited<ReturnType<AnalyticsRepository['sessionById']>> & {};

const COMPLETED = sql`status = 'completed' AND discarded_at IS NULL`;

/** The outcome counts of a group of counted groups. */
const SUMS = sql`coalesce(sum(started), 0)::int AS started, coalesce(sum(completed), 0)::int AS completed,
  coalesce(sum(interrupted), 0)::int AS interrupted, coalesce(sum(discarded), 0)::int AS discarded,
  coalesce(sum(active), 0)::int AS active`;

/** The WHERE of every query: the range in tz, then the filters. */
function matching(f: SessionFilter, alias = ''): RawBuilder<boolean> {
  const col = (name: string) => sql.ref(alias ? `${alias}.${name}` : name);
  const parts: RawBuilder<unknown>[] = [
    sql`${col('started_at')} >= (${f.from}::date::timestamp AT TIME ZONE ${f.tz})`,
    sql`${col('started_at')} < ((${f.to}::date + 1)::timestamp AT TIME ZONE ${f.tz})`,
  ];
  if (f.userId !== undefined) parts.push(sql`${col('user_id')} = ${f.userId}`);
  if (f.projectId !== undefined) parts.push(sql`${col('project_id')} = ${f.projectId}`);
  if (f.recordingType !== undefined) parts.push(sql`${col('recording_type')} = ${f.recordingType}`);
  return sql<boolean>`${sql.join(parts, sql` AND `)}`;
}

function statusIs(status: AnalyticsStatus | undefined): RawBuilder<boolean> {
  if (status === 'discarded') return sql<boolean>`s.discarded_at IS NOT NULL`;
  if (status === 'completed') return sql<boolean>`s.status = 'completed' AND s.discarded_at IS NULL`;
  if (status) return sql<boolean>`s.status = ${status}`;
  return sql<boolean>`true`;
}

interface RawOutcome {
  started: number;
  completed: number;
  interrupted: number;
  discarded: number;
  active: number;
  p50: number | null;
  p95: number | null;
}

const outcome = (r: RawOutcome): OutcomeRow => ({
  started: r.started,
  completed: r.completed,
  interrupted: r.interrupted,
  discarded: r.discarded,
  active: r.active,
  p50: r.p50,
  p95: r.p95,
});

/**
 * Sort memory for one aggregate: the percentiles sort a range's durations (90 days of everyone's sessions:
 * about 250,000 rows on the bench, 18 MB), which the default 4 MB work_mem sends to disk (3x slower).
 */
const AGGREGATE_WORK_MEM = '64MB';

export class AnalyticsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** A statement in its own transaction with more sort memory (SET LOCAL ends with it). */
  private sorting<T>(run: (db: Kysely<DB>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(async (tx) => {
      await sql`SELECT set_config('work_mem', ${AGGREGATE_WORK_MEM}, true)`.execute(tx);
      return run(tx);
    });
  }

  /** The time zone names PostgreSQL knows (the range's tz must be one): read once per process by the service. */
  async timeZoneNames(): Promise<string[]> {
    const { rows } = await sql<{ name: string }>`SELECT name FROM pg_timezone_names`.execute(this.db);
    return rows.map((r) => r.name);
  }

  /**
   * Everything the summary counts, in two statements run side by side. The counts: one pass folds the range
   * into its quarter hours and its distinct (type, browser, os, device, quality) combinations (hashing, no
   * sort), then the days, total, types and each breakdown are groupings of those few rows. The percentiles:
   * only completed takes' durations are sorted (percentile_cont), for the total, each day and each type. The
   * mode is the recording mode the user picked, which is the session's recording type (deviceInfo.mode
   * repeats it).
   */
  async summary(f: SessionFilter): Promise<SummaryRows & { breakdowns: BreakdownRow[] }> {
    const [counts, percentiles] = await Promise.all([this.counts(f), this.percentiles(f)]);
    const key = (r: Keyed) => `${r.set} ${r.day} ${r.recording_type}`;
    const spread = new Map(percentiles.map((r) => [key(r), r]));
    const withSpread = (r: CountRow): OutcomeRow => ({
      ...outcome({ ...r, p50: null, p95: null }),
      p50: spread.get(key(r))?.p50 ?? null,
      p95: spread.get(key(r))?.p95 ?? null,
    });
    const total = counts.find((r) => r.set === GROUPED.total);
    const byType = counts.filter((r) => r.set === GROUPED.type);
    const breakdowns: BreakdownRow[] = [
      ...BREAKDOWNS.flatMap(([bits, dimension]) =>
        counts
          .filter((r) => r.set === bits)
          .map((r) => ({ dimension, name: r[dimension], sessions: r.started, interrupted: r.interrupted })),
      ),
      ...byType.map((r) => ({
        dimension: 'mode' as const,
        name: r.recording_type!,
        sessions: r.started,
        interrupted: r.interrupted,
      })),
    ].sort((a, b) => b.sessions - a.sessions || (a.name < b.name ? -1 : 1));
    return {
      total: total ? withSpread(total) : EMPTY_OUTCOME,
      byDay: counts.filter((r) => r.set === GROUPED.day).map((r) => ({ day: r.day!, ...withSpread(r) })),
      byType: byType.map((r) => ({ recordingType: r.recording_type!, ...withSpread(r) })),
      breakdowns,
    };
  }

  /**
   * One pass hashes each row twice, into two small tables: its 15-minute UTC bucket (about 8,640 in 90 days) and
   * its (type, browser, os, device, quality) combination (a few dozen). Only the buckets, not the rows, are turned
   * into local days: every time zone's offset is a whole number of quarter hours, so a bucket never straddles a
   * local midnight, and one conversion per bucket instead of per row is what makes non-UTC zones as fast as UTC.
   * The total, types and breakdowns are groupings of the combinations. (One table of (day, combination), 9,720
   * groups on the bench, cost more than both: it spills out of the CPU caches.)
   */
  private async counts(f: SessionFilter): Promise<CountRow[]> {
    const { rows } = await sql<CountRow>`
      WITH parts AS (
        SELECT grouping(bucket) AS by_combination, bucket, recording_type, coalesce(browser, 'unknown') AS browser,
               coalesce(os, 'unknown') AS os, coalesce(device_kind, 'unknown') AS device,
               coalesce(quality, 'unknown') AS quality, count(*) AS started,
               count(*) FILTER (WHERE ${COMPLETED}) AS completed,
               count(*) FILTER (WHERE status = 'interrupted') AS interrupted,
               count(*) FILTER (WHERE discarded_at IS NOT NULL) AS discarded,
               count(*) FILTER (WHERE status = 'active') AS active
          FROM (SELECT date_bin('15 minutes', started_at, timestamptz 'epoch') AS bucket, recording_type, browser, os,
                       device_kind, quality, status, discarded_at
                  FROM recording_sessions WHERE ${matching(f)}) r
         GROUP BY GROUPING SETS ((bucket), (recording_type, browser, os, device_kind, quality)))
      SELECT ${sql.lit(GROUPED.day)} AS set, (bucket AT TIME ZONE ${f.tz})::date::text AS day,
             NULL AS recording_type, NULL AS browser, NULL AS os, NULL AS device, NULL AS quality, ${SUMS}
        FROM parts WHERE by_combination = 0
       GROUP BY 2
      UNION ALL
      SELECT ${sql.lit(0b100000)} | grouping(recording_type, browser, os, device, quality), NULL, recording_type,
             browser, os, device, quality, ${SUMS}
        FROM parts WHERE by_combination = 1
       GROUP BY GROUPING SETS ((), (recording_type), (browser), (os), (device), (quality))`.execute(this.db);
    return rows;
  }

  /** Duration percentiles of completed takes: total, by day, by type (their grouping() widened to six bits). */
  private percentiles(f: SessionFilter) {
    return this.sorting(async (db) => {
      const { rows } = await sql<Keyed & { p50: number | null; p95: number | null }>`
        SELECT (grouping(day, recording_type) << 4) | 15 AS set, day::text AS day, recording_type,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY duration) AS p50,
               percentile_cont(0.95) WITHIN GROUP (ORDER BY duration) AS p95
          FROM (SELECT ${dayOf(f)} AS day, recording_type, duration
                  FROM recording_sessions WHERE ${matching(f)} AND ${COMPLETED}) s
         GROUP BY GROUPING SETS ((), (day), (recording_type))`.execute(db);
      return rows;
    });
  }

  /** The most frequent error messages in the range, most frequent first (ties by message). */
  async topErrors(f: SessionFilter, limit: number): Promise<{ message: string; count: number }[]> {
    const { rows } = await sql<{ message: string; count: number }>`
      SELECT error_message AS message, count(*)::int AS count
        FROM recording_sessions
       WHERE ${matching(f)} AND error_message IS NOT NULL
       GROUP BY error_message
       ORDER BY count DESC, message
       LIMIT ${limit}`.execute(this.db);
    return rows;
  }

  /** One page of sessions, newest first, after the cursor; with their user when asked (admin views). */
  async list(f: SessionFilter, status: AnalyticsStatus | undefined, after: ListCursor | undefined, limit: number) {
    const { rows } = await sql<SessionListRow>`
      SELECT ${LIST_COLUMNS}
        FROM recording_sessions s JOIN users u ON u.id = s.user_id
       WHERE ${matching(f, 's')} AND ${statusIs(status)}
         AND ${after ? sql`(s.started_at, s.id) < (${after.startedAt}::timestamptz, ${after.id}::bigint)` : sql`true`}
       ORDER BY s.started_at DESC, s.id DESC
       LIMIT ${limit}`.execute(this.db);
    return rows;
  }

  async sessionById(id: string) {
    const { rows } = await sql<
      SessionListRow & { device_info: Record<string, unknown> | null; settings: Record<string, unknown> | null }
    >`
      SELECT ${LIST_COLUMNS}, s.device_info, s.settings
        FROM recording_sessions s JOIN users u ON u.id = s.user_id
       WHERE s.id = ${id}`.execute(this.db);
    return rows[0];
  }

  /** A session's timeline, oldest first (idx_session_events_session_at). */
  async events(sessionId: string) {
    return this.db
      .selectFrom('recording_session_events')
      .select(['at', 'kind', 'detail'])
      .where('session_id', '=', sessionId)
      .orderBy('at')
      .orderBy('id')
      .execute() as Promise<{ at: Date; kind: SessionEventKind; detail: SessionEventDetail | null }[]>;
  }

  // ---- the instance panel (/api/admin/instance) ----

  /** Recordings and their bytes per storage (provider and bucket). */
  async storageUse() {
    const { rows } = await sql<{ provider: string; bucket: string | null; recordings: number; bytes: string }>`
      SELECT storage_provider AS provider, storage_bucket AS bucket, count(*)::int AS recordings,
             coalesce(sum(file_size), 0)::text AS bytes
        FROM recordings GROUP BY storage_provider, storage_bucket ORDER BY provider, bucket NULLS FIRST`.execute(
      this.db,
    );
    return rows.map((r) => ({ ...r, bytes: Number(r.bytes) }));
  }

  /** Recordings whose processing failed: how many, how many in the last day, the latest few. */
  async processingFailures(recent: number) {
    const failedAt = sql`coalesce((metadata->>'failed_at')::timestamptz, updated_at)`;
    const counts = await sql<{ failed: number; last24h: number }>`
      SELECT count(*)::int AS failed,
             (count(*) FILTER (WHERE ${failedAt} > now() - interval '24 hours'))::int AS last24h
        FROM recordings WHERE status = 'failed'`.execute(this.db);
    const latest = await sql<{ id: string; title: string; error: string | null; at: Date }>`
      SELECT id::text AS id, title, metadata->>'error' AS error, ${failedAt} AS at
        FROM recordings WHERE status = 'failed' ORDER BY at DESC, id DESC LIMIT ${recent}`.execute(this.db);
    return { ...counts.rows[0]!, recent: latest.rows };
  }
}

export interface SessionListRow {
  id: string;
  user_id: string;
  user_name: string;
  user_email: string;
  recording_type: RecordingType;
  status: 'active' | 'completed' | 'interrupted';
  discarded: boolean;
  started_at: Date;
  ended_at: Date | null;
  duration: number | null;
  browser: string | null;
  os: string | null;
  device_kind: string | null;
  error_message: string | null;
  recording_id: string | null;
}

const LIST_COLUMNS = sql`s.id::text AS id, s.user_id, u.display_name AS user_name, u.email AS user_email,
  s.recording_type, s.status, s.discarded_at IS NOT NULL AS discarded, s.started_at, s.ended_at, s.duration,
  s.browser, s.os, s.device_kind, s.error_message, s.recording_id::text AS recording_id`;
