import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError, loadConfig, type Config } from '../server/config.js';
import { createLogger } from '../server/logger.js';
import { MigrationError } from '../server/db/migrator/errors.js';
import { BackupError } from '../server/db/backup/manifest.js';
import { backupCommands } from './backup.js';
import { type ImportLegacyOptions, importCommands } from './import.js';
import { migrateCommands } from './migrate.js';
import { buildWeb, serve } from './serve.js';
import { storageCommands } from './storage.js';
import { type MigrateOptions, storageMigrateCommands, type VerifyOptions } from './storage-migrate.js';
import { AppError } from '../server/errors.js';

function intArg(name: string) {
  return (v: string) => {
    if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`${name} must be a whole number`);
    return Number(v);
  };
}

export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`recorder: configuration error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

const program = new Command('recorder').description('Recorder: a browser recorder whose recordings are never lost');

program
  .command('serve')
  .description('start the HTTP server (embedded PostgreSQL unless DATABASE_URL is set)')
  .action(async () => serve(loadConfigOrExit()));

program
  .command('build-web')
  .description('build the browser app into dist/web (serve does it when the build is missing or stale)')
  .option('--force', 'build even when dist/web is up to date')
  .action(async (opts: { force?: boolean }) => buildWeb(opts));

const migrate = program.command('migrate').description('inspect and apply database migrations');
const lockOption = new Option(
  '--lock <mode>',
  'another runner holds the lock: wait (up to MIGRATION_RUNNER_WAIT_MS) or fail',
)
  .choices(['wait', 'fail'])
  .default('wait');
const toOption = new Option(
  '--to <version>',
  'target version (down: versions above it are rolled back; 0 = all)',
).argParser(intArg('--to'));
const phaseOption = new Option('--phase <n>', 'up: apply phases up to N; down: roll back phases N and later').argParser(
  intArg('--phase'),
);

const cmds = migrateCommands(() => {
  const config = loadConfigOrExit();
  return { config, logger: createLogger(process.env.LOG_LEVEL ? config.logLevel : 'warn') };
});

migrate.command('status').description('applied, pending and drifted migrations').action(cmds.status);
migrate
  .command('plan')
  .description("dry run: the SQL up/down would run, in order, with each file's transaction mode")
  .argument('[direction]', 'up or down', 'up')
  .addOption(toOption)
  .addOption(phaseOption)
  .action(cmds.plan);
migrate
  .command('up')
  .description(
    'apply pending migrations; a full backup is taken first when one is destructive or BACKUP_BEFORE_MIGRATE=true',
  )
  .addOption(toOption)
  .addOption(phaseOption)
  .addOption(lockOption)
  .option('--skip-backup', 'apply without the full backup (you have one of your own, e.g. a volume snapshot)')
  .action(cmds.up);
migrate
  .command('down')
  .description('roll migrations back; refuses to destroy data unless --force (which backs it up first)')
  .addOption(toOption)
  .addOption(phaseOption)
  .addOption(lockOption)
  .option('--force', 'roll back even when tables/columns hold rows, after writing a backup')
  .action(cmds.down);
migrate
  .command('backfills')
  .description('where each backfill a migration declared stands (rows done/total, rate, ETA); --run NAME runs one here')
  .option('--run <name>', 'run this backfill in the foreground with a progress bar (Ctrl-C stops; it resumes later)')
  .addOption(
    new Option('--batch-size <n>', "keys per batch (default: the declaration's)").argParser(intArg('--batch-size')),
  )
  .addOption(
    new Option('--pause-ms <n>', "pause between batches (default: the declaration's)").argParser(intArg('--pause-ms')),
  )
  .action(cmds.backfills);
migrate
  .command('restore')
  .description('load a backup written by a forced down (after migrating up again)')
  .argument('<dir>')
  .action(cmds.restore);

const backups = backupCommands(() => {
  const config = loadConfigOrExit();
  return { config, logger: createLogger(process.env.LOG_LEVEL ? config.logLevel : 'warn') };
});
const concurrencyOption = () =>
  new Option('--concurrency <n>', 'media objects read at once').argParser(intArg('--concurrency')).default(4);
const backup = program
  .command('backup')
  .description('back up the whole database and list every media object (key, size, sha256) into a new directory')
  .option('--to <dir>', 'the directory to write (default: DATA_DIR/backups/<time>)')
  .addOption(
    new Option('--format <form>', 'pg_dump archive, or portable COPY (CSV) form; auto: pg_dump when one fits')
      .choices(['auto', 'pg_dump', 'copy'])
      .default('auto'),
  )
  .option('--with-media', 'copy the media bytes into the backup too (local or s3: read through the storage)')
  .addOption(concurrencyOption())
  .action(backups.backup);
backup
  .command('verify')
  .description("check storage against a backup's media list: every object there, same size and sha256")
  .argument('<dir>')
  .addOption(concurrencyOption())
  .action(backups.verify);
program
  .command('restore')
  .description('restore a `recorder backup` into an EMPTY database (refused otherwise), then compare row counts')
  .argument('<dir>')
  .option('--with-media', 'also put the media copied by backup --with-media back into storage')
  .addOption(concurrencyOption())
  .action(backups.restore);

const storage = program.command('storage').description('media storage maintenance');
storage
  .command('sweep')
  .description(
    'delete queued media, then list (and delete) objects no recording owns, and recordings whose media is missing',
  )
  .option('--dry-run', 'report only; delete nothing')
  .addOption(
    new Option('--grace-minutes <n>', 'objects younger than this are never orphans (an upload may be finishing)')
      .argParser(intArg('--grace-minutes'))
      .default(60),
  )
  .action(
    storageCommands(() => {
      const config = loadConfigOrExit();
      return { config, logger: createLogger(process.env.LOG_LEVEL ? config.logLevel : 'warn') };
    }).sweep,
  );

const migrations = storageMigrateCommands(() => {
  const config = loadConfigOrExit();
  return { config, logger: createLogger(process.env.LOG_LEVEL ? config.logLevel : 'warn') };
});
const whereOptions = (command: Command) =>
  command
    .option('--user <id>', 'only recordings of this user')
    .option('--project <id>', 'only recordings in this project')
    .option('--created-before <date>', 'only recordings created before this date (e.g. 2026-01-31)');
const storageMigrate = whereOptions(
  storage
    .command('migrate')
    .description('move recordings to another storage as a background job (the servers run it), with a progress bar')
    .addOption(new Option('--to <provider>', 'where the recordings go').choices(['s3', 'local']))
    .addOption(new Option('--batch <n>', 'recordings per job').argParser(intArg('--batch')).default(100))
    .addOption(
      new Option('--concurrency <n>', 'recordings copied at once').argParser(intArg('--concurrency')).default(4),
    )
    .addOption(new Option('--max-mib-per-s <n>', 'bandwidth cap over all copies').argParser(intArg('--max-mib-per-s')))
    .option('--dry-run', 'count the recordings and bytes that would move; change nothing')
    .option('--no-follow', 'queue the run and exit without the progress bar'),
).action(async (o: MigrateOptions) => {
  if (!o.to) storageMigrate.error('error: --to <provider> is required (s3 or local)');
  await migrations.migrate(o);
});
for (const [name, what] of [
  ['status', 'a run: progress, and the recordings it left on their source and why'],
  ['pause', 'pause a run (between recordings)'],
  ['resume', 'resume a paused run'],
  ['cancel', 'cancel a run (recordings moved so far stay moved)'],
] as const) {
  storageMigrate
    .command(name)
    .description(`${what}; default: the unfinished (else the newest) run`)
    .argument('[id]')
    .action(async (id?: string) => {
      await migrations[name](id);
    });
}
whereOptions(
  storage
    .command('verify')
    .description('check every recording (or a sample) has its object where its row says, with its size and sha256')
    .option('--sample <percent>', 'check this share of recordings, e.g. 10%')
    .addOption(concurrencyOption()),
).action(async (o: VerifyOptions) => migrations.verify(o));

const imports = importCommands(() => {
  const config = loadConfigOrExit();
  return { config, logger: createLogger(process.env.LOG_LEVEL ? config.logLevel : 'warn') };
});
program
  .command('import')
  .description('bring recordings made elsewhere onto the server')
  .command('legacy')
  .description('import an export of the old browser-only recorder (its savedRecordings JSON) for one account')
  .argument('<file>', 'the exported JSON file (any size: it is streamed)')
  .option('--user <email>', 'the account the recordings go to (required)')
  .option('--project <id>', 'put the recordings in this project')
  .option('--dry-run', 'read the file and say what would be imported; write nothing')
  // Usage errors exit 2 (1 means: some entries could not be imported); help exits 0.
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  .action(async (file: string, o: ImportLegacyOptions) => imports.legacy(file, o));

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof MigrationError || err instanceof BackupError || err instanceof AppError) {
    process.stderr.write(`recorder: ${err.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`recorder: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
}
