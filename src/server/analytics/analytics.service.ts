/**
 * The sessions analytics (issue 14): what the dashboard shows for a date range, the sessions behind it,
 * one session's timeline, and the instance panel. Who sees what is decided in access.ts: everyone their
 * own sessions; 'instance.admin' for everyone's (scope=all, userId, projectId) and for the instance; a
 * session's drill-down is 'session.inspect' (its creator, or an administrator).
 */
import { adminRelations, authorize, relationsOf } from '../access/access.js';
import type { AccessRepository } from '../access/access.repository.js';
import type { RecordingType } from '../db/schema.js';
import { AppError } from '../errors.js';
import { isBigintId } from '../ids.js';
import type { Logger } from '../logger.js';
import type { MetricsRepository } from '../metrics/metrics.repository.js';
import { dayAfter, daysBetween, todayIn } from './analytics-days.js';
import type {
  AnalyticsRepository,
  BreakdownDimension,
  BreakdownRow,
  ListCursor,
  OutcomeRow,
  SessionFilter,
  SessionListRow,
} from './analytics.repository.js';
import { type AnalyticsStatus, MAX_RANGE_DAYS } from './analytics.schemas.js';

/** The filters as the query string gives them (analytics.schemas.ts). */
export interface AnalyticsQuery {
  from?: string;
  to?: string;
  tz?: string;
  scope?: 'me' | 'all';
  userId?: string;
  projectId?: string;
  recordingType?: RecordingType;
}

export interface Viewer {
  id: string;
  email: string;
}

const TOP_ERRORS = 10;
const RECENT_FAILURES = 10;
/** The default range: this many days ending today. */
const DEFAULT_DAYS = 30;
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

const rate = (part: number, whole: number) => (whole > 0 ? part / whole : null);

function invalidRange(message: string): never {
  throw new AppError('ANALYTICS_RANGE_INVALID', message);
}

/** A real calendar day written YYYY-MM-DD (2026-02-30 is not one). */
function checkDay(name: string, value: string): string {
  const m = DAY.exec(value);
  const date = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : undefined;
  if (!date || Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== value)
    invalidRange(`"${name}" must be a day written YYYY-MM-DD`);
  return value;
}

/** Completion rate: of the takes that ended (active ones have not), those completed. */
function outcomeView(r: OutcomeRow) {
  return {
    started: r.started,
    completed: r.completed,
    interrupted: r.interrupted,
    discarded: r.discarded,
    completionRate: rate(r.completed, r.started - r.active),
    durationP50: r.p50,
    durationP95: r.p95,
  };
}

const EMPTY: OutcomeRow = { started: 0, completed: 0, interrupted: 0, discarded: 0, active: 0, p50: null, p95: null };

function breakdownView(rows: BreakdownRow[], dimension: BreakdownDimension) {
  return rows
    .filter((r) => r.dimension === dimension)
    .map((r) => ({
      name: r.name,
      sessions: r.sessions,
      interrupted: r.interrupted,
      rate: rate(r.interrupted, r.sessions),
    }));
}

function valueCounts(rows: BreakdownRow[], dimension: BreakdownDimension) {
  return rows.filter((r) => r.dimension === dimension).map((r) => ({ value: r.name, count: r.sessions }));
}

function encodeCursor(row: SessionListRow): string {
  return Buffer.from(JSON.stringify([row.started_at.toISOString(), row.id])).toString('base64url');
}

function decodeCursor(cursor: string): ListCursor {
  try {
    const [startedAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (
      typeof startedAt === 'string' &&
      !Number.isNaN(Date.parse(startedAt)) &&
      typeof id === 'string' &&
      isBigintId(id)
    )
      return { startedAt, id };
  } catch {
    // answered below
  }
  throw new AppError('INVALID_CURSOR');
}

function sessionView(row: SessionListRow, withUser: boolean) {
  return {
    id: row.id,
    ...(withUser ? { user: { id: row.user_id, displayName: row.user_name, email: row.user_email } } : {}),
    recordingType: row.recording_type,
    status: row.status,
    discarded: row.discarded,
    startedAt: row.started_at.toISOString(),
    endedAt: row.ended_at?.toISOString() ?? null,
    duration: row.duration,
    browser: row.browser,
    os: row.os,
    deviceKind: row.device_kind,
    errorMessage: row.error_message,
    recordingId: row.recording_id,
  };
}

export class AnalyticsService {
  private zones: Promise<Map<string, string>> | undefined;

  constructor(
    private readonly repo: AnalyticsRepository,
    private readonly access: AccessRepository,
    private readonly metrics: MetricsRepository,
    private readonly adminEmails: readonly string[],
    private readonly logger: Logger,
  ) {}

  private async relationsToInstance(viewer: Viewer) {
    const isFirstAccount = await this.access.isFirstAccount(viewer.id);
    return adminRelations({ email: viewer.email, isFirstAccount }, this.adminEmails);
  }

  /** PostgreSQL's time zone names, lower-cased to their spelling; read once (the view reads every zone file). */
  private async zoneNamed(tz: string): Promise<string> {
    this.zones ??= this.repo.timeZoneNames().then((names) => new Map(names.map((n) => [n.toLowerCase(), n])));
    const zones = await this.zones.catch((err) => {
      this.zones = undefined;
      throw err;
    });
    return (
      zones.get(tz.toLowerCase()) ?? invalidRange(`"tz" must be an IANA time zone such as Europe/Paris (not ${tz})`)
    );
  }

  /** The range and filters, checked; beyond the viewer's own sessions only for an administrator. */
  private async filterFor(viewer: Viewer, q: AnalyticsQuery): Promise<{ filter: SessionFilter; admin: boolean }> {
    const tz = await this.zoneNamed(q.tz ?? 'UTC');
    const to = q.to === undefined ? todayIn(tz) : checkDay('to', q.to);
    const from = q.from === undefined ? dayAfter(to, 1 - DEFAULT_DAYS) : checkDay('from', q.from);
    const days = daysBetween(from, to) + 1;
    if (days < 1) invalidRange(`"from" (${from}) must not be after "to" (${to})`);
    if (days > MAX_RANGE_DAYS) invalidRange(`A range is at most ${MAX_RANGE_DAYS} days (this one is ${days})`);
    const admin = q.scope === 'all' || q.userId !== undefined || q.projectId !== undefined;
    if (admin) authorize('instance.admin', await this.relationsToInstance(viewer));
    const filter: SessionFilter = {
      from,
      to,
      tz,
      ...(admin ? {} : { userId: viewer.id }),
      ...(q.userId !== undefined ? { userId: q.userId } : {}),
      ...(q.projectId !== undefined ? { projectId: q.projectId } : {}),
      ...(q.recordingType !== undefined ? { recordingType: q.recordingType } : {}),
    };
    return { filter, admin };
  }

  async summary(viewer: Viewer, q: AnalyticsQuery) {
    const { filter } = await this.filterFor(viewer, q);
    const [rows, topErrors] = await Promise.all([this.repo.summary(filter), this.repo.topErrors(filter, TOP_ERRORS)]);
    const { breakdowns } = rows;
    const byDay = new Map(rows.byDay.map((r) => [r.day, r]));
    const days = Array.from({ length: daysBetween(filter.from, filter.to) + 1 }, (_, i) => dayAfter(filter.from, i));
    return {
      range: { from: filter.from, to: filter.to, tz: filter.tz },
      totals: { ...outcomeView(rows.total), active: rows.total.active },
      byDay: days.map((day) => ({ day, ...outcomeView(byDay.get(day) ?? EMPTY) })),
      byType: rows.byType.map((r) => ({ recordingType: r.recordingType, ...outcomeView(r) })),
      topErrors,
      interruptions: {
        byBrowser: breakdownView(breakdowns, 'browser'),
        byOs: breakdownView(breakdowns, 'os'),
        byDevice: breakdownView(breakdowns, 'device'),
      },
      settings: { quality: valueCounts(breakdowns, 'quality'), mode: valueCounts(breakdowns, 'mode') },
    };
  }

  async sessions(viewer: Viewer, q: AnalyticsQuery & { status?: AnalyticsStatus; after?: string; limit?: number }) {
    const { filter, admin } = await this.filterFor(viewer, q);
    const after = q.after === undefined ? undefined : decodeCursor(q.after);
    const limit = q.limit ?? 50;
    const rows = await this.repo.list(filter, q.status, after, limit + 1);
    const page = rows.slice(0, limit);
    return {
      sessions: page.map((r) => sessionView(r, admin)),
      nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!) : null,
    };
  }

  /** One session with its device, settings and timeline: its creator's, or any for an administrator. */
  async session(viewer: Viewer, id: string) {
    const row = isBigintId(id) ? await this.repo.sessionById(id) : undefined;
    const relations = [
      ...relationsOf(viewer.id, { creatorId: row?.user_id }),
      ...(await this.relationsToInstance(viewer)),
    ];
    authorize('session.inspect', relations);
    if (!row) throw new AppError('SESSION_NOT_FOUND');
    const events = await this.repo.events(id);
    return {
      session: {
        ...sessionView(row, row.user_id !== viewer.id),
        deviceInfo: row.device_info,
        settings: row.settings,
      },
      events: events.map((e) => ({
        at: e.at.toISOString(),
        kind: e.kind,
        detail: e.detail as Record<string, unknown> | null,
      })),
    };
  }

  async instance(viewer: Viewer) {
    authorize('instance.admin', await this.relationsToInstance(viewer));
    const [storage, processing, queues] = await Promise.all([
      this.repo.storageUse(),
      this.repo.processingFailures(RECENT_FAILURES),
      this.queues(),
    ]);
    return {
      storage,
      processing: {
        failed: processing.failed,
        failedLast24h: processing.last24h,
        recent: processing.recent.map((r) => ({
          recordingId: r.id,
          title: r.title,
          error: r.error,
          at: r.at.toISOString(),
        })),
      },
      queues,
    };
  }

  /** Jobs per queue (pg-boss): none listed when its schema is not there (jobs never ran on this database). */
  private async queues() {
    const depth = await this.metrics.queueDepth().catch((err: Error) => {
      this.logger.warn({ err: err.message }, 'job queues could not be read for the instance panel');
      return [];
    });
    const byName = new Map<string, { name: string; queued: number; active: number; failed: number }>();
    for (const { queue, state, jobs } of depth) {
      const q = byName.get(queue) ?? { name: queue, queued: 0, active: 0, failed: 0 };
      if (state === 'active') q.active += jobs;
      else if (state === 'failed') q.failed += jobs;
      else q.queued += jobs;
      byName.set(queue, q);
    }
    return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}
