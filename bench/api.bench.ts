/**
 * npm run bench:api — GET /api/recordings under load (autocannon, 50 connections) on the real server,
 * authenticated with an API token, beside a bare Fastify route that runs the same SQL (the keyset query
 * RecordingsRepository.list sends, captured from it) without our auth, service and logging layers
 * (bench/lib/bare-server.ts). Both run as child processes on the same database, one at a time, and are
 * measured in the same run: req/s, p50 and p99 latency, and ours/baseline.
 *
 * Data: BENCH_API_ROWS recordings (100000) loaded with COPY (bench/lib/data.ts) over BENCH_API_USERS
 * users (5000); the benchmark's user (signed up through the API) owns BENCH_API_OWN of them (2000) and
 * is an editor in three busy projects of other users, so both branches of the library query return rows.
 *
 * Scenarios: the first page, and page 10 (a keyset cursor from the API); and the floor (issue 9): the bare
 * server's GET /api/own-recordings, only the own-recordings keyset query, against which ours should keep
 * at least 0.7x the req/s. The real server runs with
 * LOG_LEVEL=warn for the comparison; the first page is measured once more with the default
 * LOG_LEVEL=info (one log line per request), to show what request logging costs.
 *
 * BENCH_API_PROFILE=1 adds a run of ours under node --cpu-prof and prints its CPU per layer (package or
 * src/server folder) and per function: what our layers cost beside the floor.
 *
 * Env: BENCH_API_ROWS, BENCH_API_USERS, BENCH_API_OWN, BENCH_API_SECONDS (10), BENCH_API_CONNECTIONS (50),
 * BENCH_DATABASE_URL (see bench/lib/server.ts). Results: stdout and bench/results/api.json.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { copyRows, recordingColumns, recordingRows, seedUsersAndProjects, type Dataset, type Row } from './lib/data.js';
import { apiUser, ROOT, startChildServer, type ChildServer } from './lib/child-server.js';
import { explain, type Explained } from './lib/library.js';
import { load, type LoadResult } from './lib/load.js';
import { decodeCursor } from '../src/server/recordings/recordings.service.js';
import { openTargetAndClient } from './lib/server.js';
import { cleanupOnExit } from './lib/cleanup.js';
import { summarizeCpuProfile } from './lib/cpu-profile.js';
import { envInt, fmtInt, fmtMs, formatTable, msSince, note, now } from './lib/stats.js';
import { machine, runBench, writeResults } from './lib/report.js';

const ROWS = envInt('BENCH_API_ROWS', 100_000);
const USERS = envInt('BENCH_API_USERS', 5_000);
const OWN = Math.min(envInt('BENCH_API_OWN', 2_000), ROWS);
const SECONDS = envInt('BENCH_API_SECONDS', 10);
const CONNECTIONS = envInt('BENCH_API_CONNECTIONS', 50);
const WARMUP_SECONDS = 3;
const PAGE = 10;
const SEED = 20240602;
/** Issue 9: ours serves at least this share of the own-recordings-only floor's req/s. */
const OWN_FLOOR_GOAL = 0.7;
/** BENCH_API_PROFILE=1: one more run of ours (first page) under node --cpu-prof, summed per layer. */
const PROFILE = Boolean(process.env.BENCH_API_PROFILE);

/** Ours under --cpu-prof for one loaded run of `p`: where its CPU goes, per layer and per function. */
async function profileOurs(work: string, env: Record<string, string>, p: string, headers: Record<string, string>) {
  const dir = path.join(work, 'cpu-profile');
  const server = await startChildServer({
    name: 'recorder-profiled',
    dir: work,
    args: ['--cpu-prof', `--cpu-prof-dir=${dir}`, path.join(ROOT, 'bin/recorder.js'), 'serve'],
    env,
  });
  try {
    note(`profile: ${SECONDS} s x ${CONNECTIONS} connections on ours under --cpu-prof`);
    const run = await load({ url: `${server.url}${p}`, connections: CONNECTIONS, duration: SECONDS, headers });
    await server.stop();
    return { run, summary: summarizeCpuProfile(dir) };
  } finally {
    await server.stop();
  }
}

function printProfile(profile: Awaited<ReturnType<typeof profileOurs>>): void {
  const s = profile.summary;
  if (!s) return void console.log('\nNo CPU profile was written.');
  console.log(
    `\nOurs under --cpu-prof (${fmtInt(profile.run.rps)} req/s): ${fmtInt(s.busyMs)} ms busy of ` +
      `${fmtInt(s.profiledMs)} ms profiled; self time by layer:`,
  );
  for (const l of s.layers.slice(0, 15))
    console.log(`  ${(100 * l.share).toFixed(1).padStart(5)}%  ${fmtInt(l.ms).padStart(6)} ms  ${l.layer}`);
  console.log('Top functions by self time:');
  for (const f of s.functions.slice(0, 15)) console.log(`  ${fmtInt(f.ms).padStart(6)} ms  ${f.fn}`);
}
const RESULTS = path.resolve(import.meta.dirname, 'results/api.json');

interface Run {
  name: string;
  load: LoadResult;
}

async function main(): Promise<void> {
  const started = now();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-bench-api-'));
  const { cleanups, cleanup } = cleanupOnExit(work);

  try {
    const { target, client } = await openTargetAndClient(cleanups);
    const version = (await client.query<{ v: string }>('SELECT version() AS v')).rows[0]!.v;

    // The server first: the benchmark user signs up through the API like any user.
    const serverEnv = (logLevel: string) => ({
      DATABASE_URL: target.url,
      DATA_DIR: path.join(work, 'data'),
      LOG_LEVEL: logLevel,
    });
    let ours: ChildServer = await startChildServer({ name: 'recorder-warn', dir: work, env: serverEnv('warn') });
    cleanups.push({ what: 'stop recorder', run: () => ours.stop() });
    const user = await apiUser(ours.url, 'bench');

    const columns = await recordingColumns(client);
    const ds: Dataset = {
      seed: SEED,
      users: USERS,
      rows: ROWS,
      start: Date.now() - 730 * 86_400_000,
      spanMs: 730 * 86_400_000,
      projectOf: [],
      columns,
    };
    const seeded = await seedUsersAndProjects(client, ds);
    // An editor in the projects of the three busiest project owners (users 0, 50, 100).
    const shared = [0, 50, 100].map((u) => ds.projectOf[u]).filter((p): p is number => p !== undefined);
    for (const p of shared)
      await client.query(`INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, 'editor')`, [
        p,
        user.userId,
      ]);
    // Every (ROWS / OWN)-th row is the benchmark user's own (no project), spread over the whole time span.
    const iUser = columns.indexOf('user_id');
    const iProject = columns.indexOf('project_id');
    const every = ROWS / OWN;
    function* rows(): Generator<Row> {
      let i = 0;
      for (const r of recordingRows(ds, ROWS)) {
        if (Math.floor(i / every) !== Math.floor((i + 1) / every)) {
          r[iUser] = user.userId;
          if (iProject >= 0) r[iProject] = null;
        }
        i++;
        yield r;
      }
    }
    const loaded = await copyRows(client, 'recordings', columns, rows(), ROWS, 'COPY recordings');
    await client.query('VACUUM (ANALYZE) recordings');
    for (const t of ['users', 'projects', 'project_members', 'api_tokens']) await client.query(`ANALYZE ${t}`);
    const visible = (
      await client.query<{ own: number; shared: number }>(
        `SELECT count(*) FILTER (WHERE user_id = $1)::int AS own,
                count(*) FILTER (WHERE user_id <> $1 AND project_id IN
                  (SELECT project_id FROM project_members WHERE user_id = $1))::int AS shared
         FROM recordings`,
        [user.userId],
      )
    ).rows[0]!;
    note(
      `${fmtInt(loaded.rows)} recordings loaded in ${(loaded.ms / 1000).toFixed(1)} s; ` +
        `the benchmark user sees ${fmtInt(visible.own)} own + ${fmtInt(visible.shared)} shared`,
    );

    // A cursor deep in the library, from the API itself.
    let cursor: string | null = null;
    for (let p = 1; p < PAGE; p++) {
      const res: Response = await fetch(`${ours.url}/api/recordings${cursor ? `?cursor=${cursor}` : ''}`, {
        headers: user.headers,
      });
      if (res.status !== 200) throw new Error(`GET /api/recordings: ${res.status} ${await res.text()}`);
      cursor = ((await res.json()) as { nextCursor: string | null }).nextCursor;
      if (!cursor) throw new Error(`the library has fewer than ${PAGE} pages`);
    }
    const paths = { first: '/api/recordings', deep: `/api/recordings?cursor=${cursor}` };

    const bare = await startChildServer({
      name: 'bare-fastify',
      dir: work,
      args: ['--import', 'tsx', path.join(ROOT, 'bench/lib/bare-server.ts')],
      env: {
        DATABASE_URL: target.url,
        BENCH_USER_ID: user.userId,
        BENCH_TOKEN: user.headers.authorization!.slice('Bearer '.length),
      },
    });
    cleanups.push({ what: 'stop bare server', run: () => bare.stop() });

    // Same rows from both, or the comparison means nothing.
    for (const p of Object.values(paths)) {
      const a = (await (await fetch(`${ours.url}${p}`, { headers: user.headers })).json()) as {
        items: { id: string }[];
      };
      const b = (await (await fetch(`${bare.url}${p}`)).json()) as { items: { id: string }[] };
      const ids = (x: { items: { id: string }[] }) => x.items.map((r) => String(r.id)).join(',');
      if (a.items.length !== 50 || ids(a) !== ids(b))
        throw new Error(
          `the bare route and the API disagree on ${p}: ${ids(a).slice(0, 80)} vs ${ids(b).slice(0, 80)}`,
        );
    }

    // The plans of the SQL both serve (as the bare server captured it from the repository).
    const captured = (await (await fetch(`${bare.url}/sql`)).json()) as Record<
      'first' | 'next',
      { sql: string; parameters: unknown[] }
    >;
    const c = decodeCursor(cursor!);
    const fill = (ps: unknown[]) =>
      ps.map((v) =>
        v === '__bench_user__'
          ? user.userId
          : v === '2000-01-01 00:00:00.123456+00'
            ? c.createdAt
            : v === '987654321987'
              ? c.id
              : v,
      );
    const plans: Record<'first' | 'deep', Explained> = {
      first: await explain(client, captured.first.sql, fill(captured.first.parameters)),
      deep: await explain(client, captured.next.sql, fill(captured.next.parameters)),
    };

    const runs: Run[] = [];
    const measure = async (name: string, server: ChildServer, p: string, headers: Record<string, string> = {}) => {
      note(`${name}: ${WARMUP_SECONDS} s warm-up, ${SECONDS} s x ${CONNECTIONS} connections on ${p.slice(0, 40)}`);
      await load({ url: `${server.url}${p}`, connections: CONNECTIONS, duration: WARMUP_SECONDS, headers });
      const r = await load({ url: `${server.url}${p}`, connections: CONNECTIONS, duration: SECONDS, headers });
      if (r.non2xx || r.errors || r.timeouts)
        throw new Error(`${name}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
      runs.push({ name, load: r });
      return r;
    };
    const bareOwn = await measure('bare, own recordings only, first page', bare, '/api/own-recordings');
    const bareFirst = await measure('bare, first page', bare, paths.first);
    const bareQueries = await measure('bare, the three queries of ours, first page', bare, '/api/recordings-queries');
    const oursFirst = await measure('ours, first page', ours, paths.first, user.headers);
    const bareDeep = await measure(`bare, page ${PAGE}`, bare, paths.deep);
    const oursDeep = await measure(`ours, page ${PAGE}`, ours, paths.deep, user.headers);
    await ours.stop();
    await bare.stop();
    ours = await startChildServer({ name: 'recorder-info', dir: work, env: serverEnv('info') });
    const oursInfo = await measure('ours (LOG_LEVEL=info), first page', ours, paths.first, user.headers);
    await ours.stop();
    const profile = PROFILE ? await profileOurs(work, serverEnv('warn'), paths.first, user.headers) : undefined;

    const runtimeMs = msSince(started);
    const x = (o: number, b: number) => `${(o / b).toFixed(2)}x`;
    const section = (o: LoadResult, b: LoadResult) => [
      ['  req/s', fmtInt(b.rps), fmtInt(o.rps), x(o.rps, b.rps)],
      ['  latency p50 ms', fmtMs(b.latencyMs.p50), fmtMs(o.latencyMs.p50), x(o.latencyMs.p50, b.latencyMs.p50)],
      ['  latency p99 ms', fmtMs(b.latencyMs.p99), fmtMs(o.latencyMs.p99), x(o.latencyMs.p99, b.latencyMs.p99)],
      ['  requests', fmtInt(b.total), fmtInt(o.total), ''],
    ];
    const rowsOut: string[][] = [
      [
        `GET /api/recordings, first page (50 of ${fmtInt(visible.own + visible.shared)}). ` +
          'baseline: bare Fastify + the same SQL; ours: Recorder, API token, LOG_LEVEL=warn',
      ],
      ...section(oursFirst, bareFirst),
      [`GET /api/recordings, page ${PAGE} (keyset cursor from the API)`],
      ...section(oursDeep, bareDeep),
      ['First page, ours with the default LOG_LEVEL=info (a log line per request) vs the same bare baseline'],
      ...section(oursInfo, bareFirst),
      [
        'First page, ours (LOG_LEVEL=warn) vs the floor: bare Fastify running only the own-recordings keyset ' +
          `query (goal ours >= ${OWN_FLOOR_GOAL}x its req/s)`,
      ],
      ...section(oursFirst, bareOwn),
      [
        'Where the gap goes (first page, req/s): floor -> + our library SQL -> + the token and roles queries ' +
          `(bare) -> ours: ${[bareOwn, bareFirst, bareQueries, oursFirst].map((r) => fmtInt(r.rps)).join(' -> ')}`,
      ],
    ];
    console.log(
      `\nRecorder API benchmark — ${version.split(',')[0]} (${target.server}), ` +
        `node ${process.version}, ${os.cpus().length} CPUs`,
    );
    console.log(
      `${fmtInt(seeded.users + 1)} users, ${fmtInt(seeded.projects)} projects, ${fmtInt(loaded.rows)} recordings; ` +
        `autocannon ${CONNECTIONS} connections x ${SECONDS} s (after ${WARMUP_SECONDS} s warm-up), ` +
        'servers in their own processes, pg pool 10 each\n',
    );
    console.log(formatTable(['', 'baseline', 'ours', 'ours/baseline'], rowsOut));
    console.log('\nThe library query (EXPLAIN ANALYZE, one run each, idle server):');
    console.log(`  first page: ${plans.first.plan} (${fmtMs(plans.first.executionMs)} ms)`);
    console.log(`  page ${PAGE}:    ${plans.deep.plan} (${fmtMs(plans.deep.executionMs)} ms)`);
    const floor = oursFirst.rps / bareOwn.rps;
    console.log(
      `\nOurs vs the own-recordings floor: ${floor.toFixed(2)}x its req/s ` +
        `(goal >= ${OWN_FLOOR_GOAL}x: ${floor >= OWN_FLOOR_GOAL ? 'met' : 'NOT met'}); load average ` +
        os
          .loadavg()
          .map((l) => l.toFixed(2))
          .join(' '),
    );
    if (profile) printProfile(profile);
    console.log(`\nRuntime ${(runtimeMs / 1000).toFixed(1)} s. Results: ${path.relative(process.cwd(), RESULTS)}`);

    const report = {
      ...machine(),
      postgres: { version, server: target.server },
      config: {
        rows: ROWS,
        users: USERS,
        ownRecordings: OWN,
        sharedProjects: shared.length,
        seconds: SECONDS,
        warmupSeconds: WARMUP_SECONDS,
        connections: CONNECTIONS,
        deepPage: PAGE,
        seed: SEED,
      },
      visible,
      sql: { first: captured.first.sql, next: captured.next.sql },
      plans,
      runs,
      loadAverageAtEnd: os.loadavg(),
      cpuProfile: profile,
      ratios: {
        firstPage: {
          rps: oursFirst.rps / bareFirst.rps,
          p50: oursFirst.latencyMs.p50 / bareFirst.latencyMs.p50,
          p99: oursFirst.latencyMs.p99 / bareFirst.latencyMs.p99,
        },
        deepPage: {
          rps: oursDeep.rps / bareDeep.rps,
          p50: oursDeep.latencyMs.p50 / bareDeep.latencyMs.p50,
          p99: oursDeep.latencyMs.p99 / bareDeep.latencyMs.p99,
        },
        firstPageVsOwnQueryFloor: {
          rps: oursFirst.rps / bareOwn.rps,
          p50: oursFirst.latencyMs.p50 / bareOwn.latencyMs.p50,
          p99: oursFirst.latencyMs.p99 / bareOwn.latencyMs.p99,
          goal: OWN_FLOOR_GOAL,
          met: oursFirst.rps / bareOwn.rps >= OWN_FLOOR_GOAL,
        },
        floorToOurs: {
          floor: bareOwn.rps,
          ourSql: bareFirst.rps,
          ourThreeQueries: bareQueries.rps,
          ours: oursFirst.rps,
        },
        firstPageLogInfo: {
          rps: oursInfo.rps / bareFirst.rps,
          p50: oursInfo.latencyMs.p50 / bareFirst.latencyMs.p50,
          p99: oursInfo.latencyMs.p99 / bareFirst.latencyMs.p99,
        },
      },
      runtimeMs,
    };
    writeResults(RESULTS, report);
  } finally {
    await cleanup();
  }
}

runBench(main);
