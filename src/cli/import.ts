/**
 * `recorder import legacy FILE.json --user EMAIL [--project ID] [--dry-run]`: an export of the old
 * browser-only recorder (its savedRecordings array, any size) imported on the server for one user, through
 * the same parser as the browser (src/shared/legacy-format.ts) and the same idempotent import
 * (ImportsService.importFile: the legacy key makes a second run import nothing). The file is streamed
 * (imports/legacy-stream.ts): memory stays flat whatever its size. docs/legacy-import.md.
 *
 * Exit status: 0 when every entry was imported or was there already, 1 when some were skipped or failed
 * (or the file is cut short or not an export), 2 on usage or configuration errors.
 */
import { stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import cliProgress from 'cli-progress';
import type { Config } from '../server/config.js';
import { authorize, relationsOf } from '../server/access/access.js';
import { AccessRepository } from '../server/access/access.repository.js';
import { AuthRepository } from '../server/auth/auth.repository.js';
import { openDatabase } from '../server/db/database.js';
import { AppError } from '../server/errors.js';
import { ImportsService } from '../server/imports/imports.service.js';
import type { Skip } from '../server/imports/imports.schemas.js';
import { type ExportEnd, readLegacyExport, type StreamedEntry } from '../server/imports/legacy-stream.js';
import { startBoss } from '../server/jobs/boss.js';
import type { JobQueue } from '../server/jobs/queue.js';
import type { Logger } from '../server/logger.js';
import { sniffFile } from '../server/media/sniff.js';
import { createStorageRegistry } from '../server/storage/factory.js';
import type { LegacySource, SkipReason } from '../shared/legacy-format.js';
import { ImportTally } from './import-summary.js';

export interface ImportLegacyOptions {
  user?: string;
  project?: string;
  dryRun?: boolean;
}

type Setup = () => { config: Config; logger: Logger };

const SOURCE: LegacySource = 'saved-recordings';
/** Skips are recorded in batches (the API takes ≤ 1000 at once; the CLI keeps to the same). */
const SKIP_BATCH = 500;
const MiB = 1024 ** 2;

/** A usage or configuration error: said plainly, exit status 2. */
class UsageError extends Error {}

export function importCommands(setup: Setup) {
  return {
    async legacy(file: string, o: ImportLegacyOptions): Promise<void> {
      try {
        process.exitCode = await importLegacy(setup, file, o);
      } catch (err) {
        if (!(err instanceof UsageError)) throw err;
        process.stderr.write(`recorder import legacy: ${err.message}\n`);
        process.exitCode = 2;
      }
    },
  };
}

async function importLegacy(setup: Setup, file: string, o: ImportLegacyOptions): Promise<number> {
  if (!o.user) throw new UsageError('--user EMAIL is required (the account the recordings go to)');
  if (o.project !== undefined && !/^[1-9]\d{0,18}$/.test(o.project))
    throw new UsageError('--project must be a project id');
  const size = await stat(file).then(
    (s) => (s.isFile() ? s.size : null),
    () => null,
  );
  if (size === null) throw new UsageError(`cannot read ${file}: no such file`);
  const { config, logger } = setup();
  const database = await openDatabase(config, logger, 2);
  let queue: (JobQueue & { stop(): Promise<void> }) | null = null;
  try {
    const user = await new AuthRepository(database.db).findUserByEmail(o.user);
    if (!user) throw new UsageError(`no account has the email ${o.user}`);
    const projectId = o.project ?? null;
    if (projectId) await checkProject(new AccessRepository(database.db), projectId, user.id);
    if (!o.dryRun) queue = await startBoss(database.url, logger, { connectTimeoutMs: config.dbConnectTimeoutMs });
    const service = new ImportsService({
      db: database.db,
      storage: createStorageRegistry(config, logger).primary,
      // A dry run queues nothing: it never gets as far as importFile.
      queue: queue ?? { send: async () => undefined },
      logger,
    });
    const run = new ImportRun(service, user.id, projectId, config, !!o.dryRun);
    const end = await run.go(file, size);
    const tally = run.tally;
    process.stdout.write(
      tally.summary({
        file,
        email: user.email,
        importId: run.importId,
        end,
        dryRun: !!o.dryRun,
        interrupted: run.interrupted,
        peakRss: peakRss(),
      }),
    );
    return tally.problems() > 0 || end.state !== 'complete' || run.interrupted ? 1 : 0;
  } finally {
    await queue?.stop();
    await database.close();
  }
}

async function checkProject(access: AccessRepository, projectId: string, userId: string): Promise<void> {
  try {
    const role = await access.projectRole(projectId, userId);
    authorize('project.addRecordings', relationsOf(userId, { role }));
  } catch (err) {
    if (err instanceof AppError) throw new UsageError(`--project ${projectId}: ${err.message}`);
    throw err;
  }
}

/** Peak resident memory of this process (the tests and the bench read it from the summary). */
function peakRss(): number {
  return process.resourceUsage().maxRSS * 1024;
}

class ImportRun {
  readonly tally = new ImportTally();
  importId: string | null = null;
  /** Stopped by a signal before the end of the file. */
  interrupted = false;
  private skips: Skip[] = [];

  constructor(
    private readonly service: ImportsService,
    private readonly userId: string,
    private readonly projectId: string | null,
    private readonly config: Config,
    private readonly dryRun: boolean,
  ) {}

  async go(file: string, size: number): Promise<ExportEnd> {
    if (!this.dryRun) {
      // The number of entries is known only at the end (the file is read once); the item rows count them.
      const started = await this.service.startImport(this.userId, {
        origin: 'cli',
        itemCount: 0,
        byteCount: size,
        client: `cli ${os.hostname()}`,
      });
      this.importId = started.id;
    }
    const bar = new cliProgress.SingleBar(
      { format: '{bar} {percentage}% | {done}/{total} MiB | {items} entries | ETA {eta_formatted}', fps: 5 },
      cliProgress.Presets.shades_classic,
    );
    bar.start(size, 0, { done: '0', total: (size / MiB).toFixed(0), items: 0 });
    const reader = readLegacyExport(file, {
      tmpDir: path.join(this.config.dataDir, 'tmp'),
      onProgress: (read) => bar.update(read, { done: (read / MiB).toFixed(0), items: this.tally.entries }),
    });
    let end: ExportEnd | undefined;
    // Ctrl-C stops after the entry at hand, its temp file deleted; the import stays open (shown as
    // interrupted) and a second run finds what this one imported already there. A second Ctrl-C: at once.
    const onSignal = () => {
      if (this.interrupted) process.exit(130);
      this.interrupted = true;
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      while (!end) {
        const next = await reader.next();
        if (next.done) end = next.value;
        else await this.one(next.value);
        if (!end && this.interrupted) {
          await reader.return({ state: 'complete', message: null, count: 0 });
          await this.flushSkips();
          return { state: 'complete', message: null, count: this.tally.entries };
        }
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      bar.stop();
    }
    if (end.state !== 'complete') {
      const where = end.count ? `after entry ${end.count - 1}` : 'at its start';
      const message =
        end.state === 'unreadable'
          ? `The file is not an export of recordings (a JSON array): ${end.message}`
          : `The file is cut short or broken ${where}; the rest could not be read (${end.message})`;
      await this.skip({ legacyId: null, title: null, reason: 'UNREADABLE_JSON', message });
    }
    await this.flushSkips();
    if (this.importId) await this.service.finishImport(this.userId, this.importId, { itemCount: this.tally.entries });
    return end;
  }

  private async one({ entry, media }: StreamedEntry): Promise<void> {
    this.tally.entries++;
    if (!entry.ok) return this.skip(entry);
    const { item } = entry;
    const about = { legacyId: item.legacyId, title: item.title };
    if (item.media.kind === 'blob-url') {
      const message = 'Its media was a blob: URL, which died with the page that made it; the bytes are gone.';
      return this.skip({ ...about, reason: 'BLOB_URL_DEAD', message });
    }
    if (item.media.kind === 'idb') {
      const where = `${item.media.database}/${item.media.store}`;
      const message = `Its media is in the old app's browser storage (${where}); import it in that browser.`;
      return this.skip({ ...about, reason: 'IDB_MISSING', message });
    }
    if (!media) return this.skip({ ...about, reason: 'NO_MEDIA', message: 'The entry holds no recording.' });
    if (media.size > this.config.maxUploadBytes) {
      const message = `${(media.size / MiB).toFixed(0)} MiB is above this server's MAX_UPLOAD_BYTES.`;
      return this.skip({ ...about, reason: 'TOO_LARGE', message, size: media.size });
    }
    const key = { legacySource: SOURCE, legacyId: item.legacyId, sha256: media.sha256 };
    if (this.dryRun) {
      const kind = await sniffFile(media.path);
      if (!kind.supported) {
        const message = `Not a recording: its bytes look like ${kind.mime}`;
        return this.skip({ ...about, reason: 'NOT_MEDIA', message, size: media.size });
      }
      const [held] = await this.service.repo.claimed(this.userId, [key]);
      if (held) this.tally.already(held.recordingId === null);
      else this.tally.imported(media.size);
      return;
    }
    try {
      const result = await this.service.importFile(
        this.userId,
        this.importId!,
        { ...item, legacySource: SOURCE },
        media,
        this.projectId,
      );
      if (result.outcome === 'imported') this.tally.imported(media.size);
      else if (result.outcome === 'already') this.tally.already(result.recordingId === null);
      else this.tally.skipped(result.reason ?? 'SKIPPED', result.message ?? '', item.legacyId, item.title);
    } catch (err) {
      // One item's failure (storage, database) is reported with the others; the run goes on.
      const message = `Could not be imported: ${(err as Error).message}`;
      await this.skip({ ...about, reason: 'UPLOAD_FAILED', message, size: media.size });
    }
  }

  private async skip(s: {
    legacyId: string | null;
    title: string | null;
    reason: SkipReason;
    message: string;
    size?: number;
  }): Promise<void> {
    this.tally.skipped(s.reason, s.message, s.legacyId, s.title);
    if (this.dryRun) return;
    this.skips.push({
      legacySource: SOURCE,
      legacyId: s.legacyId,
      title: s.title,
      reason: s.reason,
      message: s.message,
      ...(s.size === undefined ? {} : { size: s.size }),
    });
    if (this.skips.length >= SKIP_BATCH) await this.flushSkips();
  }

  private async flushSkips(): Promise<void> {
    if (!this.skips.length || !this.importId) return;
    const batch = this.skips;
    this.skips = [];
    await this.service.recordSkips(this.userId, this.importId, batch);
  }
}
