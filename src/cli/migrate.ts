import pg from 'pg';
import type { Config } from '../server/config.js';
import { openDatabase, type Database } from '../server/db/database.js';
import { restoreBackup } from '../server/db/migrator/backup.js';
import type { ProgressEvent, Target } from '../server/db/migrator/engine.js';
import type { Logger } from '../server/logger.js';
import { createMigrator } from '../server/server.js';
import { terminalProgress } from './backup.js';

interface Opts {
  to?: number;
  phase?: number;
  lock?: 'wait' | 'fail';
  force?: boolean;
  skipBackup?: boolean;
}

const out = (s: string) => process.stdout.write(`${s}\n`);

function progress(e: ProgressEvent): void {
  if (e.type === 'step') process.stdout.write(`[${e.index + 1}/${e.total}] ${e.direction} ${e.file} ... `);
  else if (e.type === 'stepDone') out(`done (${e.ms} ms)`);
  else if (e.type === 'retry') out(`\n  lock busy, retry ${e.attempt} in ${e.waitMs} ms: ${e.reason}`);
  else if (e.type === 'backupStart') out(`taking a full backup first: ${e.reason}`);
  else if (e.type === 'backup') out(`backup written: ${e.path}`);
}

function target(o: Opts): Target {
  if (o.to !== undefined && o.phase !== undefined) throw new Error('give --to or --phase, not both');
  return { to: o.to, phase: o.phase };
}

/** Each command opens the database (joining a running embedded server if there is one) and closes it. */
export function migrateCommands(setup: () => { config: Config; logger: Logger }) {
  async function withDb<T>(
    o: Opts,
    fn: (db: Database, m: ReturnType<typeof createMigrator>, config: Config) => Promise<T>,
  ): Promise<T> {
    const { config, logger } = setup();
    const db = await openDatabase(config, logger, 1);
    try {
      const extra = { runnerLock: o.lock, onProgress: progress, backupProgress: terminalProgress() };
      return await fn(db, createMigrator(config, db.url, logger, extra), config);
    } finally {
      await db.close();
    }
  }

  return {
    status: () =>
      withDb({}, async (_db, m) => {
        const rows = await m.status();
        out('version  phase  state     applied at                 name');
        for (const r of rows) {
          const version = String(r.version).padStart(4, '0');
          const appliedAt = (r.appliedAt?.toISOString() ?? '-').padEnd(25);
          out(`${version}     ${String(r.phase).padEnd(5)}  ${r.state.padEnd(8)}  ${appliedAt}  ${r.name}`);
        }
        const pending = rows.filter((r) => r.state === 'pending').length;
        const drift = rows.filter((r) => r.state === 'changed' || r.state === 'missing').length;
        out(`\n${rows.length - pending - drift} applied, ${pending} pending, ${drift} drifted`);
        if (drift) process.exitCode = 1;
      }),
    plan: (direction: string, o: Opts) =>
      withDb(o, async (_db, m) => {
        if (direction !== 'up' && direction !== 'down') throw new Error('direction must be up or down');
        const steps = await m.plan(direction, target(o));
        if (!steps.length) {
          out(`nothing to do for ${direction}`);
          return;
        }
        for (const s of steps) {
          const mode = s.transactional ? 'in a transaction' : 'outside a transaction';
          out(`-- ${s.file} (${mode}${s.destructive ? '; destructive: a full backup is taken first' : ''})`);
          out(s.sql.trimEnd());
          out('');
        }
        out(`${steps.length} file(s) would run; nothing was changed.`);
      }),
    up: (o: Opts) =>
      withDb(o, async (_db, m) => {
        const done = await m.up(target(o), { skipBackup: Boolean(o.skipBackup) });
        out(done.length ? `${done.length} migration(s) applied` : 'schema is up to date');
        if (done.backupPath) out(`full backup taken first: ${done.backupPath} (recorder restore <dir> restores it)`);
      }),
    down: (o: Opts) =>
      withDb(o, async (_db, m) => {
        const done = await m.down(target(o), Boolean(o.force));
        out(done.length ? `${done.length} migration(s) rolled back` : 'nothing to roll back');
        if (done.backupPath)
          out(`backup of the dropped data: ${done.backupPath} (recorder migrate restore <dir> after migrating up)`);
      }),
    restore: (dir: string) =>
      withDb({}, async (db) => {
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        try {
          const entries = await restoreBackup(client, db.url, dir);
          for (const e of entries) out(`restored ${e.rows} row(s) of ${e.table}${e.column ? `.${e.column}` : ''}`);
        } finally {
          await client.end();
        }
      }),
  };
}
