/**
 * npm run bench:analytics — the sessions dashboard's queries (issue 14) on BENCH_ANALYTICS_SESSIONS
 * sessions (1,000,000) over BENCH_ANALYTICS_USERS users (10,000), spread over a year, seeded by
 * test/support/sessions-seed.ts. Each query of the dashboard is timed for one user (a different user each
 * run) and for the administrator (everyone's sessions), over 90 days: p50/p95 beside a baseline measured in
 * the same run: the administrator's queries without the analytics indexes (0034, 0035 dropped, then built
 * again CONCURRENTLY as their migrations do, timed), and the floor, a plain count(*) over the range.
 * Goals: one user p95 < 20 ms, the administrator p95 < 300 ms (per query; the summary endpoint runs its
 * statements side by side). Then /metrics scrape time on a real server (METRICS_TOKEN) idle and under
 * autocannon load on an API route. Results: stdout and bench/results/analytics.json, with the load average
 * (the machine may be busy).
 *
 * Env: BENCH_ANALYTICS_SESSIONS, BENCH_ANALYTICS_USERS, BENCH_ANALYTICS_RUNS (user runs, 200; the
 * administrator a fifth), BENCH_ANALYTICS_SECONDS (load, 10), BENCH_DATABASE_URL (bench/lib/server.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { AnalyticsRepository, type SessionFilter } from '../src/server/analytics/analytics.repository.js';
import { dayAfter } from '../src/server/analytics/analytics-days.js';
import type { DB } from '../src/server/db/schema.js';
import { seedSessions } from '../test/support/sessions-seed.js';
import { apiUser, startChildServer } from './lib/child-server.js';
import { cleanupOnExit } from './lib/cleanup.js';
import { load } from './lib/load.js';
import { machine, runBench, writeResults } from './lib/report.js';
import { connect, MIGRATIONS_DIR, openTarget } from './lib/server.js';
import { envInt, fmtInt, fmtMs, formatTable, msSince, note, now, sleep, summarize, type Summary } from './lib/stats.js';

const SESSIONS = envInt('BENCH_ANALYTICS_SESSIONS', 1_000_000);
const USERS = envInt('BENCH_ANALYTICS_USERS', 10_000);
const USER_RUNS = envInt('BENCH_ANALYTICS_RUNS', 200);
const ADMIN_RUNS = Math.max(10, Math.round(USER_RUNS / 5));
const BASELINE_RUNS = Math.max(5, Math.round(ADMIN_RUNS / 3));
const SECONDS = envInt('BENCH_ANALYTICS_SECONDS', 10);
const DAYS = 365;
const RANGE_DAYS = 90;
const END = new Date(`${new Date().toISOString().slice(0, 10)}T00:00:00Z`);
const RESULTS = path.resolve(import.meta.dirname, 'results/analytics.json');
const GOALS = { user: 20, admin: 300 };
const INDEX_FILES = ['0034_phase3_idx_sessions_started_analytics', '0035_phase3_idx_sessions_errors_started'];
const loadavg = () => os.loadavg().map((l) => Number(l.toFixed(2)));

type Query = (repo: AnalyticsRepository, f: SessionFilter) => Promise<unknown>;

/** The dashboard's queries, as the API runs them (the summary's statements side by side; a list page). */
const QUERIES: Record<string, Query> = {
  'summary (counts and breakdowns, percentiles)': (r, f) => r.summary(f),
  'top errors': (r, f) => r.topErrors(f, 10),
  'summary endpoint (both at once)': (r, f) => Promise.all([r.summary(f), r.topErrors(f, 10)]),
  'sessions list, first page': (r, f) => r.list(f, undefined, undefined, 51),
};

async function time(runs: number, run: (i: number) => Promise<unknown>): Promise<Summary> {
  await run(0); // warm-up, not counted
  const ms: number[] = [];
  for (let i = 1; i <= runs; i++) {
    const t0 = now();
    await run(i);
    ms.push(msSince(t0));
  }
  return summarize(ms);
}

function rangeOf(extra: Partial<SessionFilter> = {}): SessionFilter {
  const to = dayAfter(END.toISOString().slice(0, 10), -1);
  return { from: dayAfter(to, 1 - RANGE_DAYS), to, tz: 'UTC', ...extra };
}

/** Every query for one user (a different one each run) and for everyone. */
async function measureQueries(repo: AnalyticsRepository, runs: { user: number; admin: number }, only?: string[]) {
  const out: Record<string, { user?: Summary; admin: Summary }> = {};
  for (const [name, query] of Object.entries(QUERIES)) {
    if (only && !only.includes(name)) continue;
    const admin = await time(runs.admin, () => query(repo, rangeOf()));
    const user = runs.user
      ? await time(runs.user, (i) => query(repo, rangeOf({ userId: `seed-u${((i * 7919) % USERS) + 1}` })))
      : undefined;
    out[name] = { ...(user ? { user } : {}), admin };
    note(`${name}: admin p95 ${fmtMs(admin.p95)} ms${user ? `, user p95 ${fmtMs(user.p95)} ms` : ''}`);
  }
  return out;
}

/** EXPLAIN ANALYZE of the administrator's statements, captured from the repository as it sends them. */
async function explainAdmin(url: string, client: pg.Client) {
  const captured: { sql: string; parameters: readonly unknown[] }[] = [];
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }), log: (e) => void captured.push(e.query) });
  const repo = new AnalyticsRepository(db);
  await repo.summary(rangeOf());
  await repo.topErrors(rangeOf(), 10);
  await db.destroy();
  const plans: { statement: string; plan: string; executionMs: number }[] = [];
  await client.query(`SET work_mem = '64MB'`);
  for (const q of captured.filter((c) => /^\s*(WITH parts|SELECT \(?(grouping|error_message))/.test(c.sql))) {
    const { rows } = await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${q.sql}`, q.parameters as unknown[]);
    const lines = rows.map((r) => r['QUERY PLAN'] as string);
    plans.push({
      statement: q.sql.trim().split('\n')[0]!.slice(0, 60),
      plan: lines
        .filter((l) => /Scan|Aggregate|Sort Method|Heap Fetches/.test(l))
        .map((l) => l.trim())
        .join(' | '),
      executionMs: Number(/Execution Time: ([\d.]+)/.exec(lines.join('\n'))?.[1]),
    });
  }
  await client.query('RESET work_mem');
  return plans;
}

/** The analytics indexes dropped (the baseline), then built again as their migrations build them, timed. */
async function withoutIndexes<T>(client: pg.Client, run: () => Promise<T>): Promise<{ result: T; buildMs: number }> {
  for (const name of ['idx_sessions_started_analytics', 'idx_sessions_errors_started'])
    await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
  const result = await run();
  const t0 = now();
  for (const file of INDEX_FILES) {
    const text = fs.readFileSync(path.join(MIGRATIONS_DIR, `${file}.up.sql`), 'utf8');
    await client.query(text.replace(/^--.*$/gm, '').trim());
  }
  const buildMs = msSince(t0);
  await client.query('VACUUM ANALYZE recording_sessions');
  return { result, buildMs };
}

/** /metrics response times: idle, then while autocannon loads an API route. */
async function measureScrapes(url: string, work: string) {
  const token = 'bench-metrics-token-0123456789';
  const server = await startChildServer({
    name: 'recorder-metrics',
    dir: work,
    env: { DATABASE_URL: url, DATA_DIR: path.join(work, 'data'), LOG_LEVEL: 'warn', METRICS_TOKEN: token },
  });
  try {
    const user = await apiUser(server.url, 'bench-analytics');
    const scrape = async () => {
      const t0 = now();
      const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      const body = await res.text();
      if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${body.slice(0, 200)}`);
      return { ms: msSince(t0), bytes: body.length };
    };
    const idle: number[] = [];
    let bytes = 0;
    for (let i = 0; i < 50; i++) {
      const s = await scrape();
      idle.push(s.ms);
      bytes = s.bytes;
    }
    const route = `/api/analytics/sessions/summary?from=${rangeOf().from}&to=${rangeOf().to}`;
    const loaded: number[] = [];
    let loading = true;
    const scraping = (async () => {
      await sleep(1000);
      while (loading) {
        loaded.push((await scrape()).ms);
        await sleep(200);
      }
    })();
    const run = await load({ url: `${server.url}${route}`, connections: 20, duration: SECONDS, headers: user.headers });
    loading = false;
    await scraping;
    return { idle: summarize(idle), underLoad: summarize(loaded), bytes, load: { route, ...run } };
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const started = now();
  const loadStart = loadavg();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-bench-analytics-'));
  const { cleanups, cleanup } = cleanupOnExit(work);
  const target = await openTarget();
  cleanups.push({ what: 'database', run: () => target.cleanup() });
  const client = await connect(target.url);
  cleanups.push({ what: 'client', run: () => client.end() });
  const pool = new pg.Pool({ connectionString: target.url, max: 4 });
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  cleanups.push({ what: 'pool', run: () => db.destroy() });
  try {
    note(`seeding ${fmtInt(SESSIONS)} sessions over ${fmtInt(USERS)} users and ${DAYS} days`);
    const t0 = now();
    await seedSessions(client, { sessions: SESSIONS, users: USERS, end: END, days: DAYS });
    await client.query('VACUUM ANALYZE recording_sessions');
    const seedMs = msSince(t0);
    const repo = new AnalyticsRepository(db);

    note('floor: count(*) over the range');
    const floorSql =
      'SELECT count(*) FROM recording_sessions WHERE started_at >= $1::date AND started_at < $2::date + 1';
    const floor = {
      admin: await time(ADMIN_RUNS, () => client.query(floorSql, [rangeOf().from, rangeOf().to])),
      user: await time(USER_RUNS, (i) =>
        client.query(`${floorSql} AND user_id = $3`, [
          rangeOf().from,
          rangeOf().to,
          `seed-u${((i * 7919) % USERS) + 1}`,
        ]),
      ),
    };
    note('the dashboard queries, with the analytics indexes');
    const ours = await measureQueries(repo, { user: USER_RUNS, admin: ADMIN_RUNS });
    const plans = await explainAdmin(target.url, client);
    note('baseline: the administrator without the analytics indexes');
    const { result: baseline, buildMs } = await withoutIndexes(client, async () => ({
      queries: await measureQueries(repo, { user: 0, admin: BASELINE_RUNS }, [
        'summary (counts and breakdowns, percentiles)',
        'top errors',
        'summary endpoint (both at once)',
      ]),
      plans: await explainAdmin(target.url, client),
    }));
    note('/metrics: idle, then under load');
    const metrics = await measureScrapes(target.url, work);
    const loadEnd = loadavg();

    const rows = Object.entries(ours).map(([name, m]) => [
      name,
      m.user ? `${fmtMs(m.user.p50)} / ${fmtMs(m.user.p95)}` : '',
      `${fmtMs(m.admin.p50)} / ${fmtMs(m.admin.p95)}`,
      baseline.queries[name]
        ? `${fmtMs(baseline.queries[name].admin.p50)} / ${fmtMs(baseline.queries[name].admin.p95)}`
        : '',
    ]);
    rows.push([
      'floor: count(*) over the range',
      `${fmtMs(floor.user.p50)} / ${fmtMs(floor.user.p95)}`,
      `${fmtMs(floor.admin.p50)} / ${fmtMs(floor.admin.p95)}`,
      '',
    ]);
    console.log(
      `\n${fmtInt(SESSIONS)} sessions, ${fmtInt(USERS)} users, ${RANGE_DAYS} days of ${DAYS}; ms p50 / p95 ` +
        `(user ${USER_RUNS} runs, admin ${ADMIN_RUNS}, baseline ${BASELINE_RUNS})\n`,
    );
    console.log(formatTable(['query', 'one user', 'admin', 'admin without 0034/0035'], rows));
    const endpoint = ours['summary endpoint (both at once)']!;
    console.log(
      `\nGoals: user p95 < ${GOALS.user} ms (${fmtMs(endpoint.user!.p95)}), admin p95 < ${GOALS.admin} ms ` +
        `(${fmtMs(endpoint.admin.p95)}) for the summary endpoint. Index build (0034 + 0035, CONCURRENTLY): ` +
        `${fmtInt(buildMs)} ms.`,
    );
    console.log('\nEXPLAIN ANALYZE, administrator, with the indexes:');
    for (const p of plans) console.log(`  ${fmtMs(p.executionMs)} ms  ${p.plan}`);
    console.log('without them:');
    for (const p of baseline.plans) console.log(`  ${fmtMs(p.executionMs)} ms  ${p.plan}`);
    console.log(
      `\n/metrics (${fmtInt(metrics.bytes)} bytes): idle p50 ${fmtMs(metrics.idle.p50)} / ` +
        `p95 ${fmtMs(metrics.idle.p95)} ms; ` +
        `under load (${fmtInt(metrics.load.rps)} req/s on the summary route, 20 connections) p50 ` +
        `${fmtMs(metrics.underLoad.p50)} / p95 ${fmtMs(metrics.underLoad.p95)} ms`,
    );
    console.log(`Load average at start ${loadStart.join(' ')}, at end ${loadEnd.join(' ')}; ${os.cpus().length} CPUs.`);
    const runtimeMs = msSince(started);
    console.log(`Runtime ${(runtimeMs / 1000).toFixed(0)} s. Results: ${path.relative(process.cwd(), RESULTS)}`);
    writeResults(RESULTS, {
      ...machine(),
      loadAverage: { start: loadStart, end: loadEnd },
      server: target.server,
      sessions: SESSIONS,
      users: USERS,
      days: DAYS,
      rangeDays: RANGE_DAYS,
      seedMs,
      goalsMs: GOALS,
      queries: ours,
      baselineWithoutIndexes: baseline.queries,
      floor,
      indexBuildMs: buildMs,
      explain: { withIndexes: plans, withoutIndexes: baseline.plans },
      metrics,
      runtimeMs,
    });
  } finally {
    await cleanup();
  }
}

runBench(main);
