/**
 * GET /metrics on real servers, scraped and parsed as Prometheus parses it: after a tus upload, a failed
 * job and interrupted sessions the right series moved (before/after values); the token guards the main
 * port, METRICS_PORT serves a second listener, and nothing is served by default. The same server's log
 * lines show one take followed by its ids (docs/monitoring.md, "Follow one take").
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/server/app.js';
import { loadConfig } from '../src/server/config.js';
import { JOBS } from '../src/server/jobs/queue.js';
import { createLogger } from '../src/server/logger.js';
import { type RunningServer, startServer } from '../src/server/server.js';
import { signUp, startTestServer, type TestServer } from './support/app.js';
import { connect, freshDatabase, pgTargets } from './support/db.js';
import type { PgTarget } from './support/global-setup.js';
import { type MediaFixtures, makeMediaFixtures } from './support/media-fixtures.js';
import { familyOf, labelSets, type Scrape, sampleOf, scrape } from './support/prometheus.js';
import { call, waitFor } from './support/recordings-fixtures.js';
import { sessionsApi, tusUpload } from './support/sessions.js';

const TOKEN = 'metrics-test-token-0123456789abcdef';
const BEARER = { authorization: `Bearer ${TOKEN}` };

/** A server like startTestServer's, with METRICS_TOKEN and its JSON log lines kept for the log test. */
async function startLogged(target: PgTarget, lines: Record<string, unknown>[]) {
  const db = await freshDatabase(target);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-metrics-'));
  const env = { DATABASE_URL: db.url, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', METRICS_TOKEN: TOKEN };
  const sink = { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) };
  const server = await startServer(loadConfig(env), createLogger('info', sink));
  const close = async () => {
    await server.stop();
    await db.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  return { server, dbUrl: db.url, close };
}

let fx: MediaFixtures;
beforeAll(async () => {
  fx = await makeMediaFixtures();
});
afterAll(() => fx?.cleanup());

describe.each(pgTargets().slice(0, 1))('metrics on $name', (target) => {
  const lines: Record<string, unknown>[] = [];
  let server: RunningServer;
  let close: () => Promise<void>;
  let c: pg.Client;
  let url: string;
  /** The take of the upload test, for the log test. */
  const take = { sessionId: '', uploadId: '', recordingId: '' };
  beforeAll(async () => {
    const started = await startLogged(target, lines);
    ({ server, close } = started);
    url = server.url;
    c = await connect(started.dbUrl);
  });
  afterAll(async () => {
    await c?.end();
    await close?.();
  });
  const scrapeNow = () => scrape(url, BEARER);
  /** Scrapes until `ready` holds (a job finishing in the background), then answers that scrape. */
  const scrapeUntil = (ready: (s: Scrape) => boolean, what: string) =>
    waitFor(
      async () => {
        const s = await scrapeNow();
        return ready(s) ? s : undefined;
      },
      60_000,
      what,
    );

  it('answers 401 METRICS_TOKEN_REQUIRED without the token or with a wrong one, the text format with it', async () => {
    const refused: Record<string, string>[] = [{}, { authorization: 'Bearer wrong-token-0123456789abcdef' }];
    for (const headers of [...refused, { authorization: TOKEN }]) {
      const res = await fetch(`${url}/metrics`, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await res.json()).toMatchObject({ code: 'METRICS_TOKEN_REQUIRED' });
    }
    const res = await fetch(`${url}/metrics`, { headers: BEARER });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const s = await scrapeNow();
    expect(familyOf(s, 'process_cpu_user_seconds_total')?.type).toBe('COUNTER');
    expect(sampleOf(s, 'recorder_db_pool_connections', { state: 'total' })).toBeGreaterThan(0);
  });

  it('an upload, a processing job and the session it completes move their series', async () => {
    const before = await scrapeNow();
    const u = await signUp(url, 'metrics');
    const api = sessionsApi(url, u.headers);
    const s = await api.create({ recordingType: 'camera' });
    const bytes = fs.readFileSync(fx.recorderWebm);
    const up = await tusUpload(url, u.headers, bytes, { sessionId: s.id, recordingType: 'camera' });
    Object.assign(take, { sessionId: s.id, uploadId: up.uploadUrl.split('/').pop()!, recordingId: up.recordingId });
    const processed = { queue: JOBS.processRecording, outcome: 'completed' };
    const after = await scrapeUntil(
      (x) =>
        sampleOf(x, 'recorder_job_duration_seconds_count', processed) >
        sampleOf(before, 'recorder_job_duration_seconds_count', processed),
      'the processing job',
    );
    const moved = (name: string, labels: Record<string, string> = {}) =>
      sampleOf(after, name, labels) - sampleOf(before, name, labels);
    expect(moved('recorder_upload_bytes_received_total')).toBe(bytes.length);
    expect(moved('recorder_upload_finish_duration_seconds_count', { outcome: 'done' })).toBe(1);
    expect(moved('recorder_recording_session_transitions_total', { to: 'active' })).toBe(1);
    expect(moved('recorder_recording_session_transitions_total', { to: 'completed' })).toBe(1);
    expect(sampleOf(after, 'recorder_uploads_in_progress')).toBe(0);
    // the route's template, never the path with its ids
    expect(
      moved('recorder_http_request_duration_seconds_count', { method: 'POST', route: '/api/sessions', status: '201' }),
    ).toBe(1);
    expect(
      moved('recorder_http_request_duration_seconds_count', { method: 'PATCH', route: '/api/uploads/*' }),
    ).toBeGreaterThan(0);
    const labels = labelSets(after, 'recorder_http_request_duration_seconds').map((l) => l.route ?? '');
    expect(labels.some((r) => r.includes(s.id) || r.includes(take.uploadId))).toBe(false);
  });

  it('a failed job counts as a failure of its queue; queue depth counts jobs by state', async () => {
    await server.boss.boss.createQueue('metrics-test');
    await server.boss.boss.send('metrics-test', {}, { startAfter: 3600 }); // waits an hour: stays 'created'
    const before = await scrapeNow();
    // not a recording id: the handler's query throws, as a job on a broken recording does
    await server.boss.send(JOBS.processRecording, { recordingId: 'not-a-recording' });
    const failed = { queue: JOBS.processRecording };
    const after = await scrapeUntil(
      (x) =>
        sampleOf(x, 'recorder_job_failures_total', failed) > sampleOf(before, 'recorder_job_failures_total', failed),
      'the failed job',
    );
    expect(sampleOf(after, 'recorder_job_duration_seconds_count', { ...failed, outcome: 'failed' })).toBeGreaterThan(0);
    expect(sampleOf(after, 'recorder_job_queue_depth', { queue: 'metrics-test', state: 'created' })).toBe(1);
    expect(familyOf(after, 'recorder_job_queue_depth')?.type).toBe('GAUGE');
  });

  it('sessions interrupted by the browser and by the stale sweep count by reason; counts active ones', async () => {
    const u = await signUp(url, 'interrupted');
    const api = sessionsApi(url, u.headers);
    const before = await scrapeNow();
    const told = await api.create({ recordingType: 'screen' });
    await api.interrupt(told.id, { reason: 'tab closed' });
    const silent = await api.create({ recordingType: 'screen' });
    await c.query(
      `UPDATE recording_sessions
         SET started_at = now() - interval '1 hour', last_heartbeat_at = now() - interval '1 hour'
       WHERE id = $1`,
      [silent.id],
    );
    expect(await server.sessionSweep!.runOnce()).toBeGreaterThanOrEqual(1);
    // the sweep's line names the take it interrupted, like every line about a take
    const silentLines = lines.filter((l) => l.sessionId === silent.id).map((l) => l.msg);
    expect(silentLines).toContain('recording session interrupted: silent');
    await api.create({ recordingType: 'audio' }); // stays active
    const after = await scrapeNow();
    const moved = (name: string, labels: Record<string, string>) =>
      sampleOf(after, name, labels) - sampleOf(before, name, labels);
    expect(moved('recorder_recording_session_interruptions_total', { reason: 'client' })).toBe(1);
    expect(moved('recorder_recording_session_interruptions_total', { reason: 'stale' })).toBe(1);
    expect(moved('recorder_recording_session_transitions_total', { to: 'interrupted' })).toBe(2);
    const { rows } = await c.query<{ n: string }>(
      `SELECT count(*) AS n FROM recording_sessions WHERE status = 'active'`,
    );
    expect(sampleOf(after, 'recorder_recording_sessions', { status: 'active' })).toBe(Number(rows[0]!.n));
  });

  it('storage migration and backfill progress come from their tables at scrape time', async () => {
    await c.query(
      `INSERT INTO storage_migrations (target_provider, batch_size, concurrency, status, total_count, moved_count,
         skipped_count, total_bytes, moved_bytes, started_by)
       VALUES ('local', 10, 1, 'running', 5, 3, 1, 5000, 3000, 'cli')`,
    );
    const s = await scrapeNow();
    expect(sampleOf(s, 'recorder_storage_migration_objects', { state: 'total' })).toBe(5);
    expect(sampleOf(s, 'recorder_storage_migration_objects', { state: 'moved' })).toBe(3);
    expect(sampleOf(s, 'recorder_storage_migration_bytes', { state: 'moved' })).toBe(3000);
    expect(sampleOf(s, 'recorder_storage_migration_status', { status: 'running' })).toBe(1);
    const { rows } = await c.query<{ name: string; rows_total: string }>(
      'SELECT name, rows_total FROM schema_backfills',
    );
    expect(rows.length).toBeGreaterThan(0);
    for (const b of rows)
      expect(sampleOf(s, 'recorder_backfill_rows', { backfill: b.name, state: 'total' })).toBe(Number(b.rows_total));
  });

  it('a scrape-time read that fails leaves its series out; the scrape still answers', async () => {
    await c.query('ALTER TABLE storage_migrations RENAME TO storage_migrations_away');
    try {
      const s = await scrapeNow();
      expect(labelSets(s, 'recorder_storage_migration_objects')).toEqual([]);
      expect(sampleOf(s, 'recorder_db_pool_connections', { state: 'total' })).toBeGreaterThan(0);
      expect(sampleOf(s, 'recorder_job_queue_depth', { queue: 'metrics-test', state: 'created' })).toBe(1);
    } finally {
      await c.query('ALTER TABLE storage_migrations_away RENAME TO storage_migrations');
    }
    expect(lines.some((l) => l.metric === 'recorder_storage_migration_objects' && l.level === 40)).toBe(true);
  });

  it('a scrape-time read held up by a lock is given up after its timeout; the scrape still answers', async () => {
    await c.query('BEGIN');
    try {
      await c.query('LOCK TABLE storage_migrations IN ACCESS EXCLUSIVE MODE');
      const s = await scrapeNow();
      expect(labelSets(s, 'recorder_storage_migration_objects')).toEqual([]);
      expect(sampleOf(s, 'recorder_job_queue_depth', { queue: 'metrics-test', state: 'created' })).toBe(1);
    } finally {
      await c.query('ROLLBACK');
    }
    const timedOut = (l: Record<string, unknown>) => l.metric === 'recorder_storage_migration_objects';
    expect(lines.filter(timedOut).some((l) => String(l.err).includes('no answer within'))).toBe(true);
    // once the lock is gone the series is back
    expect(sampleOf(await scrapeNow(), 'recorder_storage_migration_objects', { state: 'total' })).toBe(5);
  });

  it('a request no route matches is labelled unmatched', async () => {
    const before = await scrapeNow();
    expect((await call(url, 'POST', '/api/no-such-route', {}, {})).status).toBe(404);
    const after = await scrapeNow();
    const labels = { method: 'POST', route: 'unmatched', status: '404' };
    expect(sampleOf(after, 'recorder_http_request_duration_seconds_count', labels)).toBe(
      sampleOf(before, 'recorder_http_request_duration_seconds_count', labels) + 1,
    );
  });

  it('follow one take: its upload, finish and processing lines carry its ids', () => {
    expect(take.recordingId).toMatch(/^\d+$/);
    const mentions = (l: Record<string, unknown>) =>
      l.sessionId === take.sessionId || l.uploadId === take.uploadId || l.recordingId === take.recordingId;
    const about = lines.filter(mentions);
    const messages = about.map((l) => l.msg);
    expect(messages).toEqual(
      expect.arrayContaining(['recording session started', 'upload finished', 'recording processed']),
    );
    for (const msg of ['upload finished', 'recording processed']) {
      const line = about.find((l) => l.msg === msg);
      expect(line, msg).toMatchObject(take);
    }
    // every line about the take names its session, the id the user's complaint leads to
    for (const line of about) expect(line.sessionId, String(line.msg)).toBe(take.sessionId);
  });
});

describe.each(pgTargets().slice(0, 1))('METRICS_PORT on $name', (target) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(target, { METRICS_PORT: '0', JOBS_ENABLED: 'false' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('serves /metrics on its own listener only; the main port answers 404', async () => {
    const metricsUrl = t.server.metricsUrl!;
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(metricsUrl).not.toBe(t.url);
    const s = await scrape(metricsUrl);
    expect(familyOf(s, 'recorder_http_request_duration_seconds')?.type).toBe('HISTOGRAM');
    expect((await fetch(`${metricsUrl}/api/sessions`)).status).toBe(404);
    const main = await fetch(`${t.url}/metrics`);
    expect(main.status).toBe(404);
    expect(await main.json()).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
  });

  it('docs/monitoring.md lists exactly the recorder_ series served; the Grafana dashboard uses no others', async () => {
    const served = (await scrape(t.server.metricsUrl!)).families
      .map((f) => f.name)
      .filter((name) => name.startsWith('recorder_'))
      .sort();
    const doc = fs.readFileSync(path.join(import.meta.dirname, '../docs/monitoring.md'), 'utf8');
    const documented = [...doc.matchAll(/^\| `(recorder_[a-z_]+)`/gm)].map((m) => m[1]).sort();
    expect(documented).toEqual(served);
    const dashboard = fs.readFileSync(path.join(import.meta.dirname, '../docs/grafana/recorder.json'), 'utf8');
    const used = new Set(
      [...dashboard.matchAll(/recorder_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|count|sum)$/, '')),
    );
    expect([...used].filter((name) => !served.includes(name))).toEqual([]);
    expect(used.size).toBeGreaterThan(10);
  });
});

describe('metrics by default', () => {
  it('no /metrics anywhere: the app answers 404 ROUTE_NOT_FOUND, not the web app', async () => {
    const app = await buildApp({ logger: createLogger('silent'), probe: { pendingMigrations: async () => 0 } });
    try {
      const res = await app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
    } finally {
      await app.close();
    }
    expect(loadConfig({}).metrics).toEqual({ port: undefined, token: undefined });
  });
});
