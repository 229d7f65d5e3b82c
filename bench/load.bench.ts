/**
 * npm run bench:load — the real server (its own process, bench/lib/child-server.ts) under many clients at
 * once on loopback, mixing what users do: library pages (first and next), recording reads, media Range
 * reads (16 KiB), heartbeats on active recording sessions, and small tus uploads (create + one PATCH that
 * finishes them). Per kind: requests, p50/p99; errors (anything but the kind's expected answer), req/s,
 * the server's RSS (sampled every 250 ms) and the machine's load average.
 *
 * Baselines, same run, same server: the same mix with ONE client (each kind's latency without queueing:
 * what 200 clients add is the rest), and GET /health under autocannon with as many connections (the
 * HTTP floor of this process on this machine: no database, no auth).
 *
 * Second scenario (always, when the bench owns its PostgreSQL — the embedded one): the same mix while
 * PostgreSQL is stopped BENCH_LOAD_OUTAGE_AT seconds in and started again BENCH_LOAD_DOWN seconds later.
 * Requests are classed by when they were sent: before, during the outage (stop -> the server's /ready
 * answers 200 again), after. Goal: only 503s during the outage, no error after, and nothing lost: every
 * upload that got its final 204 (in any scenario) is a recording of the right size and sha256, and its
 * media reads back with that sha256.
 *
 * The server runs with JOBS_ENABLED=false: processing (ffmpeg) of every small upload would measure
 * ffmpeg, not the API; uploads stay `processing`. Data: BENCH_LOAD_USERS users (20) with API tokens,
 * BENCH_LOAD_ROWS recordings each (500, 30% in one project all of them belong to), two uploaded
 * recordings each (256 KiB) for the reads, one active session each.
 *
 * Env: BENCH_LOAD_CLIENTS (200), BENCH_LOAD_SECONDS (60), BENCH_LOAD_BASELINE_SECONDS (10),
 * BENCH_LOAD_OUTAGE_SECONDS (45), BENCH_LOAD_OUTAGE_AT (15), BENCH_LOAD_DOWN (5), BENCH_LOAD_OUTAGE=0 to
 * skip it, BENCH_LOAD_MIX (weights, e.g. "upload=0"), BENCH_DATABASE_URL. Results: stdout and
 * bench/results/load.json.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { apiUser, type ChildServer, startChildServer } from './lib/child-server.js';
import { cleanupOnExit } from './lib/cleanup.js';
import { load } from './lib/load.js';
import { checkUploads, printLoad, type Scenario } from './lib/load-report.js';
import { type MixUser, type Phase, runMix, WEIGHTS } from './lib/load-mix.js';
import { seedLoad } from './lib/load-seed.js';
import { machine, runBench, writeResults } from './lib/report.js';
import { connect, openTarget } from './lib/server.js';
import { envInt, msSince, note, now, sleep } from './lib/stats.js';

const CLIENTS = envInt('BENCH_LOAD_CLIENTS', 200);
const SECONDS = envInt('BENCH_LOAD_SECONDS', 60);
const BASELINE_SECONDS = envInt('BENCH_LOAD_BASELINE_SECONDS', 10);
const OUTAGE_SECONDS = envInt('BENCH_LOAD_OUTAGE_SECONDS', 45);
const OUTAGE_AT = envInt('BENCH_LOAD_OUTAGE_AT', 15);
const DOWN = envInt('BENCH_LOAD_DOWN', 5);
const OUTAGE = process.env.BENCH_LOAD_OUTAGE !== '0';
const USERS = envInt('BENCH_LOAD_USERS', 20);
const ROWS = envInt('BENCH_LOAD_ROWS', 500);
const SEED = 20261203;
const GOAL_P99_MS = 1000;
const RESULTS = path.resolve(import.meta.dirname, 'results/load.json');

/** The server's RSS every 250 ms while `work` runs: the highest and the last. */
async function sampleRss<T>(server: ChildServer, work: () => Promise<T>): Promise<{ result: T; rss: number[] }> {
  const samples: number[] = [];
  const timer = setInterval(() => {
    if (server.alive()) samples.push(server.mem().rss);
  }, 250);
  try {
    return { result: await work(), rss: samples };
  } finally {
    clearInterval(timer);
  }
}

const rssOf = (samples: number[]) => ({
  maxBytes: Math.max(...samples),
  lastBytes: samples.at(-1) ?? NaN,
  samples: samples.length,
});

/** Polls /ready until 200: when the server serves again after PostgreSQL came back. */
async function untilReady(url: string): Promise<void> {
  for (;;) {
    const status = await fetch(`${url}/ready`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    await sleep(100);
  }
}

async function main(): Promise<void> {
  const started = now();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-bench-load-'));
  const { cleanups, cleanup } = cleanupOnExit(work);
  try {
    const target = await openTarget();
    cleanups.push({ what: 'bench database', run: () => target.cleanup() });
    const client = await connect(target.url);
    const version = (await client.query<{ v: string }>('SELECT version() AS v')).rows[0]!.v;
    const server = await startChildServer({
      name: 'recorder',
      dir: work,
      env: { DATABASE_URL: target.url, DATA_DIR: path.join(work, 'data'), LOG_LEVEL: 'warn', JOBS_ENABLED: 'false' },
    });
    cleanups.push({ what: 'stop recorder', run: () => server.stop() });
    const accounts = await Promise.all(Array.from({ length: USERS }, (_, i) => apiUser(server.url, `load${i}`)));
    const users: MixUser[] = await seedLoad(client, server.url, accounts, { rows: ROWS, seed: SEED });
    await client.end();
    const base = new URL(server.url);
    const loadBefore = os.loadavg();

    note(`baseline: the mix with 1 client for ${BASELINE_SECONDS} s`);
    const oneClient = await runMix({ base, users, clients: 1, seconds: BASELINE_SECONDS, seed: SEED + 1 });
    note(`baseline: GET /health, ${CLIENTS} connections for ${BASELINE_SECONDS} s`);
    const health = await load({ url: `${server.url}/health`, connections: CLIENTS, duration: BASELINE_SECONDS });

    note(`the mix: ${CLIENTS} clients for ${SECONDS} s`);
    const mixed = await sampleRss(server, () =>
      runMix({ base, users, clients: CLIENTS, seconds: SECONDS, seed: SEED + 2 }),
    );
    const scenarios: Scenario[] = [
      { name: 'mix, 1 client (baseline)', mix: oneClient },
      { name: `mix, ${CLIENTS} clients`, mix: mixed.result, rss: rssOf(mixed.rss) },
    ];

    let outage: Record<string, unknown> | undefined;
    if (OUTAGE && target.restart) {
      note(`outage: ${CLIENTS} clients for ${OUTAGE_SECONDS} s; PostgreSQL stopped at ${OUTAGE_AT} s for ${DOWN} s`);
      let phase: Phase = 'before';
      const restart = target.restart;
      const timeline = (async () => {
        await sleep(OUTAGE_AT * 1000);
        phase = 'outage';
        const times = await restart(() => sleep(DOWN * 1000));
        await untilReady(server.url);
        phase = 'after';
        return { ...times, readyAt: Date.now() };
      })();
      const t0 = Date.now();
      const run = await sampleRss(server, () =>
        runMix({ base, users, clients: CLIENTS, seconds: OUTAGE_SECONDS, seed: SEED + 3, phase: () => phase }),
      );
      const times = await timeline;
      outage = {
        stoppedAtS: (times.stoppedAt - t0) / 1000,
        startedAtS: (times.startedAt - t0) / 1000,
        readyAgainAtS: (times.readyAt - t0) / 1000,
        serverReadyAfterPgStartMs: times.readyAt - times.startedAt,
      };
      scenarios.push({ name: `mix, ${CLIENTS} clients, PostgreSQL restarted`, mix: run.result, rss: rssOf(run.rss) });
    } else {
      note('outage scenario skipped (BENCH_LOAD_OUTAGE=0, or BENCH_DATABASE_URL: not our server to restart)');
    }

    const check = await connect(target.url);
    const loss = await checkUploads(
      check,
      server.url,
      users,
      scenarios.flatMap((s) => s.mix.uploads),
    );
    await check.end();
    const loadAfter = os.loadavg();
    const runtimeMs = msSince(started);
    printLoad({ version, server: target.server, scenarios, health, outage, loss, goalP99Ms: GOAL_P99_MS });
    console.log(
      `Load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ` +
        `${loadAfter.map((l) => l.toFixed(2)).join(' ')}. Runtime ${(runtimeMs / 1000).toFixed(1)} s. ` +
        `Results: ${path.relative(process.cwd(), RESULTS)}`,
    );
    writeResults(RESULTS, {
      ...machine(),
      postgres: { version, server: target.server },
      config: {
        clients: CLIENTS,
        seconds: SECONDS,
        baselineSeconds: BASELINE_SECONDS,
        outageSeconds: OUTAGE_SECONDS,
        outageAt: OUTAGE_AT,
        down: DOWN,
        users: USERS,
        rowsPerUser: ROWS,
        jobsEnabled: false,
        weights: WEIGHTS,
        seed: SEED,
      },
      loadAverage: { before: loadBefore, after: loadAfter },
      baselines: { health },
      scenarios: scenarios.map((s) => ({ ...s, mix: { ...s.mix, uploads: s.mix.uploads.length } })),
      outage,
      loss,
      runtimeMs,
    });
  } finally {
    await cleanup();
  }
}

runBench(main);
