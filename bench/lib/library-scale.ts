/**
 * The library at scale: BENCH_SCALE_ROWS recordings (1,000,000) over 10,000 users, and one user who
 * owns a share of them and belongs to 50 busy projects of others, so both halves of the library query
 * (own recordings; shared projects) have rows to page through.
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { DB } from '../../src/server/db/schema.js';
import { RecordingsRepository } from '../../src/server/recordings/recordings.repository.js';
import { copyRows, recordingColumns, recordingRows, seedUsersAndProjects, type Dataset, type Row } from './data.js';
import { explain, type Explained } from './library.js';
import { fmtInt, fmtMs, msSince, note, now, summarize, type Summary } from './stats.js';

export interface ScaleOptions {
  rows: number;
  users: number;
  /** How many of the rows are the library user's own (no project). */
  own: number;
  /** Projects of other users the library user is an editor in (the busiest ones). */
  sharedProjects: number;
  /** A second user, editor in as many of the quietest projects (whose recordings are few and spread out). */
  quietUser?: string;
  seed: number;
}

export interface ScaleData {
  ds: Dataset;
  /** Rows in recordings, counts the library user sees. */
  rows: number;
  visible: { own: number; shared: number };
  projects: number[];
}

/**
 * Loads the data set for `libraryUser` (an existing users row): users u000000.., one project per 50 of
 * them, the recordings by COPY with every (rows/own)-th row made the library user's own, then the
 * memberships; VACUUM ANALYZE so plans and index-only scans are those of a settled table.
 */
export async function seedScale(client: pg.Client, libraryUser: string, o: ScaleOptions): Promise<ScaleData> {
  const columns = await recordingColumns(client);
  const span = 730 * 86_400_000;
  const ds: Dataset = {
    seed: o.seed,
    users: o.users,
    rows: o.rows,
    start: Date.now() - span,
    spanMs: span,
    projectOf: [],
    columns,
  };
  await seedUsersAndProjects(client, ds);
  const projects = ds.projectOf.filter((p): p is number => p !== undefined).slice(0, o.sharedProjects);
  if (projects.length < o.sharedProjects) throw new Error(`only ${projects.length} projects; raise BENCH_SCALE_USERS`);
  // The quiet user's projects are the last ones: their owners have the fewest recordings.
  const quiet = ds.projectOf.filter((p): p is number => p !== undefined).slice(-o.sharedProjects);
  const members = [
    ...projects.map((p) => [p, libraryUser] as const),
    ...(o.quietUser ? quiet.map((p) => [p, o.quietUser!] as const) : []),
  ];
  for (const [p, user] of members)
    await client.query(`INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, 'editor')`, [p, user]);
  const iUser = columns.indexOf('user_id');
  const iProject = columns.indexOf('project_id');
  const iStatus = columns.indexOf('status');
  // No external thumbnail or CDN URLs: the web app's CSP would refuse them in bench:library's browser.
  const external = ['thumbnail_url', 'cdn_url'].map((c) => columns.indexOf(c)).filter((i) => i >= 0);
  const every = o.rows / Math.max(1, o.own);
  function* rows(): Generator<Row> {
    let i = 0;
    for (const r of recordingRows(ds, o.rows)) {
      if (o.own && Math.floor(i / every) !== Math.floor((i + 1) / every)) {
        r[iUser] = libraryUser;
        if (iProject >= 0) r[iProject] = null;
      }
      // Nothing is left processing: no job would ever finish it.
      if (r[iStatus] === 'processing') r[iStatus] = 'completed';
      for (const e of external) r[e] = null;
      i++;
      yield r;
    }
  }
  const loaded = await copyRows(client, 'recordings', columns, rows(), o.rows, `COPY ${fmtInt(o.rows)} recordings`);
  await client.query('VACUUM (ANALYZE) recordings');
  for (const t of ['users', 'projects', 'project_members']) await client.query(`ANALYZE ${t}`);
  const visible = await visibleCounts(client, libraryUser);
  note(
    `${fmtInt(loaded.rows)} recordings loaded; the library user sees ${fmtInt(visible.own)} own + ` +
      `${fmtInt(visible.shared)} in ${projects.length} shared projects`,
  );
  return { ds, rows: loaded.rows, visible, projects };
}

/** What the user's library holds: their own recordings, and others' in the projects they belong to. */
export async function visibleCounts(client: pg.Client, userId: string): Promise<{ own: number; shared: number }> {
  const { rows } = await client.query<{ own: number; shared: number }>(
    `SELECT count(*) FILTER (WHERE user_id = $1)::int AS own,
            count(*) FILTER (WHERE user_id <> $1 AND project_id IN
              (SELECT project_id FROM project_members WHERE user_id = $1))::int AS shared
     FROM recordings`,
    [userId],
  );
  return rows[0]!;
}

/**
 * The library query as it was before issue 9 (commit f36e302: own recordings UNION ALL "not mine, in a
 * project I belong to", both ORDER BY ... LIMIT), first page, for the before/after plans. Parameters:
 * user, limit + 1.
 */
export const LIST_SQL_BEFORE =
  'select * from (select * from (select *, created_at::text as "cursor_ts" from "recordings" ' +
  'where ("user_id" = $1 and 1 = 1) order by "created_at" desc, "id" desc limit $2) as "o" union all ' +
  'select * from (select *, created_at::text as "cursor_ts" from "recordings" where (("user_id" <> $1 and ' +
  '"project_id" in (select "project_id" from "project_members" where "user_id" = $1)) and 1 = 1) ' +
  'order by "created_at" desc, "id" desc limit $2) as "s") as "r" order by "created_at" desc, "id" desc limit $2';

export interface OneClientResult {
  /** GET /api/recordings (first page), one request at a time, ms. */
  apiFirst: Summary;
  /** The next pages by cursor (pages 2..walk), ms. */
  apiNext: Summary;
  /** The repository's query alone (RecordingsRepository.list through Kysely), first page and next pages. */
  dbFirst: Summary;
  dbNext: Summary;
  /** The same client's GET /health (no database) and GET /api/auth/me (the sign-in lookup only), ms. */
  health: Summary;
  me: Summary;
}

/** One client walking the library: `rounds` x (first page + walk-1 next pages), through the API and the repository. */
export async function oneClient(
  url: string,
  headers: Record<string, string>,
  dbUrl: string,
  userId: string,
  o: { rounds: number; walk: number },
): Promise<OneClientResult> {
  const api = { first: [] as number[], next: [] as number[], health: [] as number[], me: [] as number[] };
  const floor = async (path: string, into: number[]) => {
    const t = now();
    const res = await fetch(`${url}${path}`, { headers });
    await res.arrayBuffer();
    into.push(msSince(t));
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status}`);
  };
  const direct = { first: [] as number[], next: [] as number[] };
  const pool = new pg.Pool({ connectionString: dbUrl, max: 1 });
  const repo = new RecordingsRepository(new Kysely<DB>({ dialect: new PostgresDialect({ pool }) }));
  try {
    for (let r = 0; r < o.rounds; r++) {
      await floor('/health', api.health);
      await floor('/api/auth/me', api.me);
      let cursor: string | null = null;
      for (let p = 0; p < o.walk; p++) {
        const t = now();
        const res: Response = await fetch(`${url}/api/recordings${cursor ? `?cursor=${cursor}` : ''}`, { headers });
        const body = (await res.json()) as { items: unknown[]; nextCursor: string | null };
        (p ? api.next : api.first).push(msSince(t));
        if (res.status !== 200 || body.items.length !== 50) throw new Error(`GET /api/recordings: ${res.status}`);
        cursor = body.nextCursor;
      }
      let keys: { createdAt: string; id: string } | undefined;
      for (let p = 0; p < o.walk; p++) {
        const t = now();
        const rows = await repo.list({ userId, limit: 51, cursor: keys });
        (p ? direct.next : direct.first).push(msSince(t));
        const last = rows[49]!;
        keys = { createdAt: last.cursor_ts, id: last.id };
      }
    }
  } finally {
    await pool.end();
  }
  return {
    apiFirst: summarize(api.first),
    apiNext: summarize(api.next),
    dbFirst: summarize(direct.first),
    dbNext: summarize(direct.next),
    health: summarize(api.health),
    me: summarize(api.me),
  };
}

export interface BeforeAfter {
  before: { plan: Explained; query: Summary };
  after: { plan: Explained; query: Summary };
}

/**
 * The first page's plan and time before (the old SQL on the schema of 0017: 0018's index dropped inside a
 * transaction that is rolled back) and after (the repository's SQL as it runs now), `reps` runs each.
 */
export async function beforeAfter(
  client: pg.Client,
  dbUrl: string,
  userId: string,
  reps: number,
): Promise<BeforeAfter & { sql: { before: string; after: string } }> {
  let captured: { sql: string; parameters: readonly unknown[] } | undefined;
  const pool = new pg.Pool({ connectionString: dbUrl, max: 1 });
  const log = (e: { query: { sql: string; parameters: readonly unknown[] } }) => {
    captured = e.query;
  };
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }), log });
  try {
    await new RecordingsRepository(db).list({ userId, limit: 51 });
  } finally {
    await pool.end();
  }
  const timed = async (sql: string, params: unknown[]) => {
    const ms: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t = now();
      await client.query(sql, params);
      ms.push(msSince(t));
    }
    return summarize(ms);
  };
  const afterParams = [...captured!.parameters];
  const after = {
    plan: await explain(client, captured!.sql, afterParams),
    query: await timed(captured!.sql, afterParams),
  };
  await client.query('BEGIN');
  try {
    await client.query('DROP INDEX idx_recordings_project_created');
    const params = [userId, 51];
    const before = {
      plan: await explain(client, LIST_SQL_BEFORE, params),
      query: await timed(LIST_SQL_BEFORE, params),
    };
    return { before, after, sql: { before: LIST_SQL_BEFORE, after: captured!.sql } };
  } finally {
    await client.query('ROLLBACK');
  }
}

/** One user's library at scale: what it holds, one client's times, the first page's plans. */
export interface ScaleLibrary {
  name: string;
  visible: { own: number; shared: number };
  oneClient: OneClientResult;
  plans: Awaited<ReturnType<typeof beforeAfter>>;
}

export interface ScaleReport {
  rows: number;
  sharedProjects: number;
  libraries: ScaleLibrary[];
  goalP95Ms: number;
}

/** Measures one user's library: one client through the API (`headers`) and the repository; plans. */
export async function measureLibrary(
  name: string,
  client: pg.Client,
  urls: { server: string; db: string },
  user: { userId: string; headers: Record<string, string> },
): Promise<ScaleLibrary> {
  return {
    name,
    visible: await visibleCounts(client, user.userId),
    oneClient: await oneClient(urls.server, user.headers, urls.db, user.userId, { rounds: 30, walk: 10 }),
    plans: await beforeAfter(client, urls.db, user.userId, 50),
  };
}

/** The scale section of bench:library's output. */
export function printScale(r: ScaleReport): void {
  const pq = (s: Summary) => `p50 ${fmtMs(s.p50)} / p95 ${fmtMs(s.p95)} ms (n ${s.n})`;
  console.log(
    `\nThe library at scale: ${fmtInt(r.rows)} recordings, ${r.sharedProjects} shared projects per user below. ` +
      'One client, one request at a time:',
  );
  for (const lib of r.libraries) {
    const c = lib.oneClient;
    const worst = Math.max(c.apiFirst.p95, c.apiNext.p95);
    console.log(`${lib.name}: sees ${fmtInt(lib.visible.own)} own + ${fmtInt(lib.visible.shared)} shared`);
    console.log(`  GET /api/recordings first page:   ${pq(c.apiFirst)}`);
    console.log(`  GET /api/recordings next pages:   ${pq(c.apiNext)}`);
    console.log(`  the query alone (repository), first page: ${pq(c.dbFirst)}; next pages: ${pq(c.dbNext)}`);
    console.log(`  same client, GET /health: ${pq(c.health)}; GET /api/auth/me: ${pq(c.me)}`);
    const met = worst < r.goalP95Ms ? 'met' : 'NOT met';
    console.log(`  goal p95 < ${r.goalP95Ms} ms through the API: ${met} (${fmtMs(worst)} ms)`);
    const { before, after } = lib.plans;
    console.log('  First page, EXPLAIN ANALYZE and time over the wire:');
    console.log(`    before (0017 schema, old SQL): ${before.plan.plan} (${fmtMs(before.plan.executionMs)} ms)`);
    console.log(`      ${pq(before.query)}`);
    console.log(`    after (0018, the LATERAL merge): ${after.plan.plan} (${fmtMs(after.plan.executionMs)} ms)`);
    console.log(`      ${pq(after.query)}`);
  }
}
