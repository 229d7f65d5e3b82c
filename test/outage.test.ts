/**
 * PostgreSQL goes away under load and comes back, and the server heals without a restart:
 * (a) the embedded postmaster is killed with -9 (its owner, the server process, restarts it);
 * (b) a private external PostgreSQL 15 is stopped, then started again by its operator.
 * Meanwhile API requests answer 503 DB_UNAVAILABLE with Retry-After (never 500, never slower than the
 * connect timeout), /ready answers 503 and /health 200; afterwards everything answers again, a tus upload
 * that spanned the outage is complete and byte-identical (no acknowledged byte lost), and the jobs and the
 * stale-session sweep run again. Both servers are private to this file: the shared test servers stay up.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import * as tus from 'tus-js-client';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/server/config.js';
import { isDatabaseUnavailable } from '../src/server/db/outage.js';
import { AppError } from '../src/server/errors.js';
import { JOBS } from '../src/server/jobs/queue.js';
import { createLogger } from '../src/server/logger.js';
import { type RunningServer, startServer } from '../src/server/server.js';
import { signUp } from './support/app.js';
import { PG15_BIN, startPg15 } from './support/pg15.js';
import { sessionsApi } from './support/sessions.js';
import { fakeWebm } from './support/tus-http.js';

const CONNECT_TIMEOUT_MS = 2000;
/** What a loaded 2-core machine may add to the connect timeout before a request counts as hung. */
const SLACK_MS = 5000;
const KiB = 1024;
const CHUNK = 256 * KiB;
/** Waits end here, well inside the test's 60 s, so a failure says what did not happen. */
const DEADLINE_MS = 25_000;

type Headers = Record<string, string>;
interface Outcome {
  kind: string;
  status: number;
  code?: string;
  retryAfter: string | null;
  ms: number;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const clean of cleanups.reverse()) {
    try {
      await clean();
    } catch (err) {
      console.warn('outage test clean-up:', (err as Error).message); // the next clean-ups still run
    }
  }
});

/** A server of its own with a log we can read; no DATABASE_URL means the embedded PostgreSQL under dataDir. */
async function privateServer(databaseUrl?: string) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-outage-'));
  fs.chmodSync(dataDir, 0o755);
  const logLines: string[] = [];
  const logger = createLogger('info', { write: (line: string) => void logLines.push(line) });
  const env: Headers = { DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', SESSION_STALE_SECONDS: '2' };
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  env.DB_CONNECT_TIMEOUT_MS = String(CONNECT_TIMEOUT_MS);
  const server = await startServer(loadConfig(env), logger);
  cleanups.push(async () => {
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const logged = (msg: string) => logLines.some((line) => JSON.parse(line).msg === msg);
  return { server, dataDir, logged };
}

async function until(what: string, check: () => Promise<boolean> | boolean, ms = DEADLINE_MS): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(100);
  }
}

const readyStatus = (url: string) =>
  fetch(`${url}/ready`).then(
    (res) => res.status,
    () => 0,
  );

/**
 * Clients hammering the API (reads, writes, the session behind every request) and the probes while the
 * database goes away and comes back; every answer is kept.
 */
function startLoad(url: string, headers: Headers) {
  const outcomes: Outcome[] = [];
  let running = true;
  let sawOutage!: () => void;
  const outage = new Promise<void>((resolve) => (sawOutage = resolve));
  const requests: Record<string, () => Promise<Response>> = {
    'projects.list': () => fetch(`${url}/api/projects`, { headers, signal: AbortSignal.timeout(DEADLINE_MS) }),
    'projects.create': () =>
      fetch(`${url}/api/projects`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'during an outage' }),
        signal: AbortSignal.timeout(DEADLINE_MS),
      }),
    'auth.me': () => fetch(`${url}/api/auth/me`, { headers, signal: AbortSignal.timeout(DEADLINE_MS) }),
    ready: () => fetch(`${url}/ready`, { signal: AbortSignal.timeout(DEADLINE_MS) }),
    health: () => fetch(`${url}/health`, { signal: AbortSignal.timeout(DEADLINE_MS) }),
  };
  const loop = async (kind: string, send: () => Promise<Response>) => {
    while (running) {
      const started = Date.now();
      const res = await send().catch(() => undefined);
      const body = res ? ((await res.json().catch(() => ({}))) as { code?: string }) : {};
      const outcome = { kind, status: res?.status ?? 0, code: body.code, ms: Date.now() - started };
      outcomes.push({ ...outcome, retryAfter: res?.headers.get('retry-after') ?? null });
      if (outcome.status >= 500 && kind.includes('.')) sawOutage(); // met the outage, whatever the answer
      await sleep(25); // pacing, so the load leaves CPU to the database restarting beside it
    }
  };
  const loops = Object.entries(requests).map(([kind, send]) => loop(kind, send));
  const stop = async () => {
    running = false;
    await Promise.all(loops);
  };
  cleanups.push(stop); // a failed test stops its load before its server
  return { outcomes, outage, stop };
}

/**
 * A take's upload as the web app sends it (src/web/persist/uploader.ts): tus-js-client in 256 KiB PATCHes,
 * and once the upload exists, resumed from its URL only (no endpoint: a failed HEAD must not start a new
 * upload from byte 0), started again after tus-js-client gives up. `midway` is called once two PATCHes
 * are acknowledged; the next is sent only once `gate` resolves. Every answer that was not a success is
 * kept, and every offset a HEAD reported beside the offset acknowledged before it.
 */
function uploadAcross(url: string, headers: Headers, bytes: Buffer, midway: () => void, gate: Promise<void>) {
  const failures: { method: string; status: number; retryAfter: string | null }[] = [];
  const headOffsets: { offset: number; acknowledged: number }[] = [];
  let acknowledged = 0;
  let uploadUrl: string | undefined;
  let created = 0;
  const reader = {
    async openFile() {
      return {
        size: bytes.length,
        async slice(start: number, end: number) {
          if (start >= 2 * CHUNK) await gate;
          const value = Object.assign(bytes.subarray(start, end), { size: Math.min(end, bytes.length) - start });
          return { value, done: end >= bytes.length };
        },
        close() {},
      };
    },
  };
  const attempt = () =>
    new Promise<string>((resolve, reject) => {
      // The attempt that created the upload has an endpoint: its retries would start a new one after a
      // failed HEAD, so it leaves retrying to the attempts that resume from the URL.
      const resuming = uploadUrl !== undefined;
      const upload = new tus.Upload(bytes, {
        ...(uploadUrl ? { uploadUrl } : { endpoint: `${url}/api/uploads` }),
        headers,
        metadata: { title: 'across an outage', recordingType: 'screen', filename: 'outage.webm' },
        chunkSize: CHUNK,
        fileReader: reader as unknown as tus.UploadOptions['fileReader'],
        retryDelays: [250, 500, 500, 500],
        onShouldRetry: () => resuming,
        storeFingerprintForResuming: false,
        onUploadUrlAvailable: () => {
          uploadUrl ??= upload.url ?? undefined;
        },
        onChunkComplete: (_size, accepted) => {
          acknowledged = accepted;
          if (accepted >= 2 * CHUNK) midway();
        },
        onAfterResponse: (req, res) => {
          const status = res.getStatus();
          if (req.getMethod() === 'POST' && status === 201) created++;
          if (status >= 300)
            failures.push({ method: req.getMethod(), status, retryAfter: res.getHeader('Retry-After') ?? null });
          if (req.getMethod() === 'HEAD' && status === 200)
            headOffsets.push({ offset: Number(res.getHeader('Upload-Offset')), acknowledged });
        },
        onSuccess: ({ lastResponse }) => resolve(lastResponse.getHeader('Recording-Id') ?? ''),
        onError: reject,
      });
      upload.start();
    });
  const done = (async () => {
    const end = Date.now() + DEADLINE_MS;
    for (;;) {
      try {
        return await attempt();
      } catch (err) {
        if (Date.now() > end) throw err;
        await sleep(500); // the web app's own backoff before it starts again from the upload's URL
      }
    }
  })();
  done.catch(() => undefined); // a test that fails before awaiting it reports its own error, not this one
  return { done, failures, headOffsets, bytes, created: () => created };
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function mediaSha(url: string, headers: Headers, recordingId: string): Promise<string> {
  const res = await fetch(`${url}/api/recordings/${recordingId}/media`, { headers });
  expect(res.status).toBe(200);
  return sha256(Buffer.from(await res.arrayBuffer()));
}

/** What every request met during the outage: the expected answers, quickly, and the outage was seen. */
function expectOutageAnswered(outcomes: Outcome[]) {
  const api = outcomes.filter((o) => o.kind.includes('.'));
  const unavailable = api.filter((o) => o.status === 503);
  expect(unavailable.length).toBeGreaterThan(0);
  expect(api.filter((o) => ![200, 201, 503].includes(o.status))).toEqual([]); // no 500, no dropped socket
  expect(unavailable.filter((o) => o.code !== 'DB_UNAVAILABLE' || o.retryAfter !== '5')).toEqual([]);
  const ready = outcomes.filter((o) => o.kind === 'ready');
  expect(ready.some((o) => o.status === 503 && o.retryAfter === '5')).toBe(true);
  expect(ready.filter((o) => ![200, 503].includes(o.status))).toEqual([]);
  expect(outcomes.filter((o) => o.kind === 'health' && o.status !== 200)).toEqual([]);
  expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThan(CONNECT_TIMEOUT_MS + SLACK_MS);
  // After the outage, every kind of request succeeds again.
  for (const kind of ['projects.list', 'projects.create', 'auth.me', 'ready'])
    expect(outcomes.filter((o) => o.kind === kind).at(-1)?.status, kind).toBeLessThan(300);
}

/** What the upload met: retryable 503s only, never an acknowledged byte asked for again, and intact. */
async function expectUploadIntact(url: string, headers: Headers, upload: ReturnType<typeof uploadAcross>) {
  const recordingId = await upload.done;
  expect(recordingId).toMatch(/^\d+$/);
  expect(upload.failures.filter((f) => f.status !== 503 || f.retryAfter !== '5')).toEqual([]);
  // One upload throughout: resumed where the server stood, never started again from byte 0.
  expect(upload.created()).toBe(1);
  expect(upload.headOffsets.filter((h) => h.offset < h.acknowledged)).toEqual([]);
  expect(await mediaSha(url, headers, recordingId)).toBe(sha256(upload.bytes));
}

/** Jobs and the stale-session sweep work again: a job queued now runs, a silent take gets interrupted. */
async function expectJobsResumed(server: RunningServer, url: string, headers: Headers) {
  // A key of its own: the queue is 'stately', and a scheduled run may be queued at this moment.
  const jobId = await server.boss.boss.send(JOBS.deleteMedia, {}, { singletonKey: `after-outage-${Date.now()}` });
  expect(jobId).toBeTruthy();
  await until('the job queued after the outage completes', async () => {
    const job = await server.boss.boss.getJobById(JOBS.deleteMedia, jobId!);
    return job?.state === 'completed';
  });
  const sessions = sessionsApi(url, headers);
  const take = await sessions.create({ recordingType: 'camera' });
  await until('the sweep interrupts a silent take', async () => (await sessions.get(take.id)).status !== 'active');
  expect((await sessions.get(take.id)).status).toBe('interrupted');
}

describe('database outages: 503 meanwhile, healed without a restart', () => {
  it('(a) embedded: the postmaster killed with -9 under load is restarted by its owner', async () => {
    const { server, dataDir, logged } = await privateServer();
    const url = server.url;
    const user = await signUp(url, 'outage-a');
    const pidFile = path.join(dataDir, 'postgres', 'postmaster.pid');
    const postmasterPid = () => Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
    const killed = postmasterPid();
    const load = startLoad(url, user.headers);
    const bytes = fakeWebm(8 * CHUNK - 1000, 7);
    let alive = true;
    const kill = () => {
      if (alive) process.kill(killed, 'SIGKILL');
      alive = false;
    };
    const upload = uploadAcross(url, user.headers, bytes, kill, load.outage);

    await load.outage; // some API request met the dead database
    await until('/ready answers 200 again', async () => (await readyStatus(url)) === 200);
    await expectUploadIntact(url, user.headers, upload);
    await load.stop();
    expectOutageAnswered(load.outcomes);

    expect(postmasterPid()).not.toBe(killed);
    expect(logged('embedded PostgreSQL died; restarting it')).toBe(true);
    expect(logged('embedded PostgreSQL restarted')).toBe(true);
    expect(logged('unhandled error')).toBe(false);
    await expectJobsResumed(server, url, user.headers);
    // The statement timeout is the app pool's only: pg-boss's maintenance (and the migrations) run unbounded.
    expect((await server.database.pool.query('SHOW statement_timeout')).rows[0].statement_timeout).toBe('30s');
    const bossDb = server.boss.boss.getDb();
    expect((await bossDb.executeSql('SHOW statement_timeout', [])).rows[0].statement_timeout).toBe('0');
  });

  it('(b) external: PostgreSQL 15 stopped under load, then started again by its operator', async () => {
    const pg15 = await startPg15();
    cleanups.push(() => pg15.stop());
    const admin = new pg.Client({ connectionString: pg15.url });
    await admin.connect();
    const pgdata = (await admin.query<{ data_directory: string }>('SHOW data_directory')).rows[0]!.data_directory;
    await admin.end();
    // Asynchronously: the server under test runs in this process and must go on answering meanwhile.
    const pgCtl = async (...args: string[]) => {
      const ctl = path.join(PG15_BIN, 'pg_ctl');
      const [file, argv] = process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', ctl, ...args]] : [ctl, args];
      await promisify(execFile)(file, argv);
    };
    const port = new URL(pg15.url).port;
    const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off`;

    const { server, logged } = await privateServer(pg15.url);
    const url = server.url;
    const user = await signUp(url, 'outage-b');
    const load = startLoad(url, user.headers);
    const bytes = fakeWebm(8 * CHUNK - 1000, 8);
    let stopped: Promise<void> | undefined;
    const stop = () => {
      stopped ??= pgCtl('-D', pgdata, '-m', 'fast', '-w', 'stop');
    };
    const upload = uploadAcross(url, user.headers, bytes, stop, load.outage);
    await load.outage;
    await stopped;
    // The operator starts it again once the upload too has met the outage.
    await until('the upload meets the outage', () => upload.failures.length > 0);
    await pgCtl('-D', pgdata, '-o', options, '-l', path.join(path.dirname(pgdata), 'server.log'), '-w', 'start');
    await until('/ready answers 200 again', async () => (await readyStatus(url)) === 200);
    await expectUploadIntact(url, user.headers, upload);
    await load.stop();
    expectOutageAnswered(load.outcomes);
    expect(logged('unhandled error')).toBe(false);
    await expectJobsResumed(server, url, user.headers);
  });
});

describe('what counts as the database being away (db/outage.ts)', () => {
  const withCode = (message: string, code: string, extra: object = {}) =>
    Object.assign(new Error(message), { code }, extra);
  it.each([
    ['a refused connection', true, withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['an admin shutdown', true, withCode('terminating connection due to administrator command', '57P01')],
    ['"starting up"', true, withCode('the database system is starting up', '57P03')],
    ['a connection exception', true, withCode('connection failure', '08006')],
    ['the pool timing out', true, new Error('timeout exceeded when trying to connect')],
    [
      'a lost connection, wrapped',
      true,
      new Error('finish failed', { cause: new Error('Connection terminated unexpectedly') }),
    ],
    ['storage refusing (AWS SDK)', false, withCode('connect ECONNREFUSED', 'ECONNREFUSED', { $metadata: {} })],
    ['a constraint violation', false, withCode('duplicate key value violates unique constraint', '23505')],
    ['one of our own errors', false, new AppError('STORAGE_UNAVAILABLE')],
    ['a bug', false, new TypeError('Cannot read properties of undefined')],
  ])('%s: an outage = %s', (_name, expected, err) => {
    expect(isDatabaseUnavailable(err)).toBe(expected);
  });
});
