import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { Migrator, type MigratorOptions } from '../../src/server/db/migrator/engine.js';
import { createLogger } from '../../src/server/logger.js';
import type { PgTarget } from './global-setup.js';

export const MIGRATIONS_DIR = path.resolve(import.meta.dirname, '../../migrations');

/** Every migration version on disk, ascending; tests derive counts from it so new migrations do not break them. */
export const ALL_VERSIONS = fs
  .readdirSync(MIGRATIONS_DIR)
  .filter((f) => f.endsWith('.up.sql'))
  .map((f) => Number(f.slice(0, 4)))
  .sort((a, b) => a - b);
/** The spec's Phase 1 (users, projects, recordings, recording_sessions, recording_edits). */
export const PHASE1_VERSIONS = [1, 2, 3, 4, 5];

export function pgTargets(): PgTarget[] {
  return inject('pgTargets');
}

/** A new, empty database on the target server; drop() removes it (forcefully). */
export async function freshDatabase(target: PgTarget): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: target.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(target.url);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: target.url });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export function migrator(url: string, over: Partial<MigratorOptions> = {}): Migrator {
  return new Migrator({
    url,
    dir: MIGRATIONS_DIR,
    logger: createLogger('silent'),
    lockTimeout: '2s',
    lockRetries: 3,
    runnerLock: 'wait',
    runnerLockWaitMs: 10_000,
    backupDir: path.join('/tmp', `recorder-test-backups-${process.pid}`),
    retryBaseMs: 50,
    ...over,
  });
}

export async function connect(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  // A test that fails mid-way leaves its connection open; dropping its database then ends it.
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

/** What a failed statement broke, as schema tests compare it: "23505 uq_name" (SQLSTATE and constraint). */
export function violationOf(err: unknown): string {
  const e = err as { code?: string; constraint?: string };
  return `${e.code ?? ''} ${e.constraint ?? ''}`.trim();
}

/** The migration versions schema_migrations records as applied, ascending (down tests compare it). */
export async function appliedVersions(c: pg.Client): Promise<number[]> {
  return (await c.query<{ v: number }>('SELECT version AS v FROM schema_migrations ORDER BY 1')).rows.map((r) => r.v);
}
