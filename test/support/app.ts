/**
 * A whole Recorder server (HTTP, jobs, storage) on a fresh database of a test target, listening on a
 * free loopback port, with its own DATA_DIR. For HTTP tests: `inject` for speed, `url` for real clients.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/server/config.js';
import { createLogger } from '../../src/server/logger.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import type { PgTarget } from './global-setup.js';
import { freshDatabase } from './db.js';

export interface TestServer {
  server: RunningServer;
  url: string;
  dbUrl: string;
  dataDir: string;
  /** Stops the server, drops the database, removes DATA_DIR. */
  close(): Promise<void>;
}

export async function startTestServer(target: PgTarget, env: Record<string, string> = {}): Promise<TestServer> {
  const db = await freshDatabase(target);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-app-'));
  const config = loadConfig({ DATABASE_URL: db.url, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', ...env });
  const server = await startServer(config, createLogger((process.env.TEST_LOG_LEVEL as 'info') ?? 'silent'));
  return {
    server,
    url: server.url,
    dbUrl: db.url,
    dataDir,
    async close() {
      await server.stop();
      await db.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The password every test account signs up with: sign-up refuses guessable passwords (zxcvbn score < 3),
 * so tests use one the estimator rates strong.
 */
export const TEST_PASSWORD = 'violet-kettle-orbit-27';

/** Signs up a fresh user through the API; returns the session cookie and an Origin that passes the check. */
export async function signUp(
  url: string,
  name = 'user',
): Promise<{ cookie: string; userId: string; email: string; headers: Record<string, string> }> {
  const email = `${name}-${Math.random().toString(36).slice(2)}@example.com`;
  const res = await fetch(`${url}/api/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: url },
    body: JSON.stringify({ email, password: TEST_PASSWORD, displayName: name }),
  });
  if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${await res.text()}`);
  const cookie = res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const { user } = (await res.json()) as { user: { id: string } };
  return { cookie, userId: user.id, email, headers: { cookie, origin: url } };
}
