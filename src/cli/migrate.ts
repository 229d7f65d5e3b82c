import cliProgress from 'cli-progress';
import pg from 'pg';
import type { Config } from '../server/config.js';
import { BackfillError, BackfillRunner, type BackfillProgress } from '../server/db/backfill/runner.js';
import { openDatabase, type Database } from '../server/db/database.js';
import { restoreBackup } from '../server/db/migrator/backup.js';
import type { ProgressEvent, Target } from '../server/db/migrator/engine.js';
import type { MigrationFile } from '../server/db/migrator/files.js';
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

interface BackfillOpts {
  run?: string;
  batchSize?: number;
  pauseMs?: number;
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
        for (const name of done.backfills ?? [])
          out(`backfill ${name} is pending: the server runs it in the background (recorder migrate backfills)`);
        if (done.backupPath) out(`full backup taken first: ${done.backupPath} (recorder restore <dir> restores it)`);
      }),
    down: (o: Opts) =>
      withDb(o, async (_db, m) => {
        const done = await m.down(target(o), Boolean(o.force));
        out(done.length ? `${done.length} migration(s) rolled back` : 'nothing to roll back');
        if (done.backupPath)
          out(`backup of the dropped data: ${done.backupPath} (recorder migrate restore <dir> after migrating up)`);
      }),
    backfills: (o: BackfillOpts) =>
      withDb({}, async (db, m) => {
        const runner = new BackfillRunner(db.url);
        try {
          if (o.run) await runInForeground(runner, await m.migrations(), o);
          else printBackfills(await runner.list(await m.migrations()));
        } finally {
          await runner.close();
        }
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

function duration(seconds: number | null): string {
  if (seconds === null) return '-';
  if (seconds < 90) return `${Math.ceil(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function percent(p: BackfillProgress): string {
  return p.total ? `${((100 * p.done) / p.total).toFixed(1)}%` : '-';
}

function printBackfills(list: BackfillProgress[]): void {
  if (!list.length) {
    out('no backfills: no applied migration declares one');
    return;
  }
  out('state     done/total                 rejected  rate            ETA      backfill');
  for (const p of list) {
    const done = `${p.done}/${p.total} (${percent(p)})`.padEnd(25);
    const rate = (p.rate === null ? '-' : `${Math.round(p.rate)} rows/s`).padEnd(14);
    const eta = duration(p.etaSeconds).padEnd(7);
    out(`${p.state.padEnd(8)}  ${done}  ${String(p.rejected).padEnd(8)}  ${rate}  ${eta}  ${p.name}`);
    if (p.deferred) out(`  ${p.deferred} row(s) another transaction held: retried after the scan`);
    if (p.lastError) out(`  last failed batch (${p.failures} in all; it is retried): ${p.lastError}`);
    if (p.rejected) {
      out(`  ${p.rejected} row(s) could not be filled and were left as they are; the first:`);
      for (const r of p.rejectedSample.slice(0, 10)) out(`    key ${r.key}: ${r.reason}`);
    }
  }
}

/** `--run NAME`: batches in this process with a progress bar; Ctrl-C stops after the batch in flight. */
async function runInForeground(runner: BackfillRunner, files: MigrationFile[], o: BackfillOpts): Promise<void> {
  const decl = files
    .map((f) => f.backfill)
    .find((b) => b && (b.name === o.run || b.name.replace(/^\d{4}_phase\d+_/, '') === o.run));
  if (!decl)
    throw new BackfillError('BACKFILL_UNKNOWN', `no backfill named ${o.run} (recorder migrate backfills lists them)`);
  if (!(await runner.list(files)).some((p) => p.name === decl.name))
    throw new BackfillError('BACKFILL_NOT_READY', `${decl.name} is not applied yet: run recorder migrate up first`);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: 'backfill [{bar}] {percentage}% | {value}/{total} rows | {rate} | ETA {eta_text}',
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  try {
    const last = await runner.run(decl, {
      batchSize: o.batchSize,
      pauseMs: o.pauseMs,
      signal: stop.signal,
      onBatch: (p) => {
        const payload = {
          rate: p.rate === null ? '-' : `${Math.round(p.rate)} rows/s`,
          eta_text: duration(p.etaSeconds),
        };
        if (!started) bar.start(Math.max(p.total, 1), p.done, payload);
        started = true;
        bar.update(p.done, payload);
      },
    });
    bar.stop();
    if (last.state === 'finished')
      out(`${decl.name}: finished, ${last.filled} row(s) filled, ${last.rejected} rejected`);
    else out(`${decl.name}: stopped at ${last.done}/${last.total}; it resumes there (the server, or --run again)`);
    if (last.rejected) printBackfills([last]);
  } finally {
    bar.stop();
    process.off('SIGINT', onSignal);
  }
}
