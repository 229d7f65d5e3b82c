/** The HTTP server over a real database: liveness, readiness, the error shape. */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { buildApp } from '../src/server/app.js';
import { loadConfig } from '../src/server/config.js';
import { createLogger } from '../src/server/logger.js';
import { startServer, type RunningServer } from '../src/server/server.js';
import { signUp, startTestServer } from './support/app.js';
import { ALL_VERSIONS, freshDatabase, migrator, pgTargets } from './support/db.js';
import { createUpload, fakeWebm } from './support/tus-http.js';

describe.each(pgTargets())('server on $name', (target) => {
  let server: RunningServer | undefined;
  let db: Awaited<ReturnType<typeof freshDatabase>> | undefined;
  afterEach(async () => {
    await server?.stop();
    await db?.drop();
    server = db = undefined;
  });

  async function start(env: Record<string, string> = {}) {
    db = await freshDatabase(target);
    const config = loadConfig({ DATABASE_URL: db.url, PORT: '0', HOST: '127.0.0.1', ...env });
    server = await startServer(config, createLogger('silent'));
    return server;
  }

  it('migrates on start and answers /health and /ready over HTTP', async () => {
    const s = await start();
    expect(await (await fetch(`${s.url}/health`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${s.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', pendingMigrations: 0 });
  });

  it('is not ready while migrations are pending (MIGRATE_ON_START=false), and ready after up', async () => {
    const s = await start({ MIGRATE_ON_START: 'false' });
    const res = await s.app.inject({ method: 'GET', url: '/ready' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({
      code: 'NOT_READY',
      message: expect.stringContaining(`${ALL_VERSIONS.length} migration(s) pending`),
      details: { pendingMigrations: ALL_VERSIONS.length },
    });
    expect((await s.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    await migrator(db!.url).up();
    expect((await s.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
  });

  it('answers unknown routes with a 404 and a machine-readable code', async () => {
    const s = await start();
    const res = await s.app.inject({ method: 'GET', url: '/api/nope?x=1' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ code: 'ROUTE_NOT_FOUND', message: 'No route GET /api/nope' });
  });

  it('publishes the OpenAPI document built from the route schemas', async () => {
    const s = await start();
    const doc = (await s.app.inject({ method: 'GET', url: '/api/openapi.json' })).json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/health', '/ready']));
  });
});

describe('readiness without a database', () => {
  it('answers 503 NOT_READY when the database does not answer, without leaking the error', async () => {
    const pool = new pg.Pool({ connectionString: 'postgres://x:y@127.0.0.1:1/none', connectionTimeoutMillis: 500 });
    const app = await buildApp({
      logger: createLogger('silent'),
      probe: {
        pendingMigrations: async () => {
          await pool.query('SELECT 1');
          return 0;
        },
      },
    });
    const res = await app.inject({ method: 'GET', url: '/ready' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ code: 'NOT_READY', message: 'The database does not answer' });
    await app.close();
    await pool.end();
  });
});

describe('stopping the server', () => {
  it('waits for no client that stalls mid-request: after SHUTDOWN_GRACE_MS its connection is closed', async () => {
    const app = await startTestServer(pgTargets()[0]!, { SHUTDOWN_GRACE_MS: '200' });
    try {
      const user = await signUp(app.url, 'stall');
      const size = 1024 * 1024;
      const upload = await createUpload(app.url, user.headers, { recordingType: 'camera' }, { length: size });
      const location = new URL(upload.location);
      // A tus PATCH that announces 1 MiB and sends 64 KiB: without the grace, stop() waits for the
      // client (or Node's 300 s request timeout), far past this test's timeout.
      const socket = net.connect(Number(location.port), location.hostname);
      const requestSeen = new Promise((resolve) => app.server.app.server.once('request', resolve));
      const socketClosed = new Promise((resolve) => socket.once('close', resolve));
      socket.on('error', () => undefined);
      socket.resume(); // a paused socket would never see the server's end
      const head = [
        `PATCH ${location.pathname} HTTP/1.1`,
        `Host: ${location.host}`,
        `Cookie: ${user.cookie}`,
        'Tus-Resumable: 1.0.0',
        'Content-Type: application/offset+octet-stream',
        'Upload-Offset: 0',
        `Content-Length: ${size}`,
      ];
      socket.write(`${head.join('\r\n')}\r\n\r\n`);
      socket.write(fakeWebm(64 * 1024));
      await requestSeen;
      await app.server.stop();
      await socketClosed; // by the server: this client never ends its request
    } finally {
      await app.close();
    }
  });
});
