/** `recorder backup [--to DIR]`, `recorder backup verify DIR`, `recorder restore DIR`: see docs/migrations.md. */
import cliProgress from 'cli-progress';
import type { Config } from '../server/config.js';
import { openDatabase, type Database } from '../server/db/database.js';
import type { BackupManifest, Progress } from '../server/db/backup/manifest.js';
import { readManifest } from '../server/db/backup/manifest.js';
import { verifyMedia } from '../server/db/backup/media.js';
import { restoreFullBackup } from '../server/db/backup/restore.js';
import { defaultBackupDir, writeFullBackup, type BackupForm } from '../server/db/backup/write.js';
import type { Logger } from '../server/logger.js';
import { createMigrator } from '../server/server.js';
import { createStorageRegistry } from '../server/storage/factory.js';

const out = (line: string) => process.stdout.write(`${line}\n`);

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit ? 1 : 0)} ${units[unit]}`;
}

/** A bar on stderr while a step runs (drawn only on a terminal: cron logs and tests stay clean). */
export function terminalProgress(): Progress {
  let bar: cliProgress.SingleBar | undefined;
  let done = 0;
  let show = (value: number) => String(value);
  return {
    begin(label, total, unit) {
      done = 0;
      show = (value) => (unit === 'bytes' ? `${formatBytes(value)} / ${formatBytes(total)}` : `${value}/${total}`);
      bar = new cliProgress.SingleBar(
        { stream: process.stderr, format: `${label.padEnd(10)} [{bar}] {percentage}% | {done}`, hideCursor: true },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0, { done: show(0) });
    },
    advance(amount) {
      done += amount;
      bar?.update(done, { done: show(done) });
    },
    end() {
      bar?.stop();
      bar = undefined;
    },
  };
}

type Setup = () => { config: Config; logger: Logger };

async function withDatabase<T>(setup: Setup, fn: (db: Database, config: Config, logger: Logger) => Promise<T>) {
  const { config, logger } = setup();
  const database = await openDatabase(config, logger, 1);
  try {
    return await fn(database, config, logger);
  } finally {
    await database.close();
  }
}

function summary(dir: string, manifest: BackupManifest): void {
  const db = manifest.database;
  const rows = db.tables.reduce((sum, t) => sum + t.rows, 0);
  out(`backup written: ${dir}`);
  const form = db.form === 'pg_dump' ? `pg_dump archive (${db.dump!.pgDumpVersion})` : 'portable COPY form (CSV)';
  out(`  database: ${form}, schema version ${db.schemaVersion}, ${db.tables.length} tables, ${rows} rows`);
  const m = manifest.media;
  out(`  media: ${m.objects} object(s), ${formatBytes(m.bytes)}${m.hashed ? ', sha256 of each' : ''}`);
  if (m.missing) out(`  WARNING: ${m.missing} object(s) missing from storage (listed in manifest.json)`);
  out(`  ${m.note}`);
}

export interface BackupCliOptions {
  to?: string;
  format: BackupForm;
  withMedia?: boolean;
  concurrency: number;
}

export function backupCommands(setup: Setup) {
  return {
    backup: (o: BackupCliOptions) =>
      withDatabase(setup, async (database, config, logger) => {
        const { dir, manifest } = await writeFullBackup({
          url: database.url,
          storage: createStorageRegistry(config, logger),
          dir: o.to ?? defaultBackupDir(config.dataDir),
          reason: 'recorder backup',
          form: o.format,
          withMedia: Boolean(o.withMedia),
          concurrency: o.concurrency,
          progress: terminalProgress(),
        });
        summary(dir, manifest);
      }),
    verify: (dir: string, o: { concurrency: number }) =>
      withDatabase(setup, async (_database, config, logger) => {
        const manifest = await readManifest(dir);
        const check = await verifyMedia(manifest, createStorageRegistry(config, logger), {
          concurrency: o.concurrency,
          progress: terminalProgress(),
        });
        for (const p of check.problems) out(`  ${p.key}: ${p.problem}`);
        out(`${check.checked} object(s) checked against storage, ${check.problems.length} problem(s)`);
        if (check.problems.length) process.exitCode = 1;
      }),
    restore: async (dir: string, o: { withMedia?: boolean; concurrency: number }) => {
      await readManifest(dir); // a wrong directory is said before any database is started
      await withDatabase(setup, async (database, config, logger) => {
        const result = await restoreFullBackup({
          url: database.url,
          dir,
          migrator: createMigrator(config, database.url, logger),
          storage: createStorageRegistry(config, logger),
          withMedia: Boolean(o.withMedia),
          concurrency: o.concurrency,
          progress: terminalProgress(),
        });
        const rows = result.tables.reduce((sum, t) => sum + t.rows, 0);
        const { form, schemaVersion } = result.manifest.database;
        out(`restored ${dir} (${form} form, schema version ${schemaVersion})`);
        out(`  ${result.tables.length} tables, ${rows} rows: every count matches the backup's`);
        if (o.withMedia) out(`  ${result.mediaRestored} media object(s) put back into storage`);
        else if (result.manifest.media.copied)
          out('  media copies in the backup were left alone (--with-media puts them back)');
      });
    },
  };
}
