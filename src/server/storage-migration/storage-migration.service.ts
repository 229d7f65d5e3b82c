/**
 * Storage migrations: moving recordings between storages (local <-> s3) while they stay playable.
 * A run is a storage_migrations row; the storage-migrate job (jobs/storage-migrate.ts) calls runBatch
 * until it answers 'done' or 'stopped', one batch of recordings (ids above the cursor) per job, so a run
 * survives the CLI exiting and continues after a restart. Each recording moves as mover.ts says.
 * pause/resume/cancel flip the status; the batch looks at it between recordings.
 */
import pLimit from 'p-limit';
import type { StorageMigrationFilters, StorageMigrationStatus } from '../db/schema.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { StorageLocation, StorageRegistry } from '../storage/registry.js';
import type { Storage, StorageProviderName } from '../storage/storage.js';
import { type CrashPoint, locationOf, type MoveJob, RecordingMover } from './mover.js';
import type {
  MovableRecording,
  StorageMigrationRepository,
  StorageMigrationRow,
} from './storage-migration.repository.js';
import { TokenBucket } from './throttle.js';

export interface StartOptions {
  to: StorageProviderName;
  filters?: StorageMigrationFilters;
  batchSize?: number;
  concurrency?: number;
  maxMibPerS?: number | null;
  /** A user id, or 'cli'. */
  startedBy: string;
}

export interface DryRun {
  target: StorageLocation;
  count: number;
  bytes: number;
}

export type BatchResult = 'more' | 'done' | 'stopped';

/** Starts the job of a run (jobs/storage-migrate.ts); the service knows no queue. */
export type Kick = (migrationId: string) => Promise<void>;

export interface StorageMigrationDeps {
  repo: StorageMigrationRepository;
  storages: StorageRegistry;
  logger: Logger;
  kick: Kick;
  /** Grace before a moved recording's source objects are deleted (default 1 hour). */
  graceMs?: number;
  crashAt?: CrashPoint | undefined;
}

export const DEFAULT_BATCH = 100;
/** A batch takes no new recording after this: its job ends within its 5 minutes (jobs/storage-migrate.ts). */
const BATCH_BUDGET_MS = 240_000;
export const DEFAULT_CONCURRENCY = 4;
const DEFAULT_GRACE_MS = 3_600_000;

export class StorageMigrationService {
  private readonly mover: RecordingMover;

  constructor(private readonly deps: StorageMigrationDeps) {
    this.mover = new RecordingMover({
      repo: deps.repo,
      storages: deps.storages,
      logger: deps.logger,
      graceMs: deps.graceMs ?? DEFAULT_GRACE_MS,
      crashAt: deps.crashAt,
    });
  }

  /** What a run would move: counts and bytes, nothing changed. */
  async dryRun(to: StorageProviderName, filters: StorageMigrationFilters = {}): Promise<DryRun> {
    const target = locationOf(this.targetStorage(to));
    return { target, ...(await this.deps.repo.countMovable(target, filters)) };
  }

  /** Creates a run and starts its job; 409 MIGRATION_RUNNING while another run is unfinished. */
  async start(opts: StartOptions): Promise<StorageMigrationRow> {
    const target = locationOf(this.targetStorage(opts.to));
    const run = await this.deps.repo.create({
      target,
      filters: opts.filters ?? {},
      batchSize: opts.batchSize ?? DEFAULT_BATCH,
      concurrency: opts.concurrency ?? DEFAULT_CONCURRENCY,
      maxMibPerS: opts.maxMibPerS ?? null,
      startedBy: opts.startedBy,
    });
    if (!run) throw new AppError('MIGRATION_RUNNING');
    await this.deps.kick(run.id);
    return run;
  }

  list(limit = 20): Promise<StorageMigrationRow[]> {
    return this.deps.repo.list(limit);
  }

  /** The run by id, or the unfinished one (else the newest) without an id. */
  async find(id?: string): Promise<StorageMigrationRow> {
    const run = id ? await this.deps.repo.find(id) : ((await this.deps.repo.unfinished()) ?? (await this.list(1))[0]);
    if (!run) throw new AppError('MIGRATION_NOT_FOUND');
    return run;
  }

  /** The run with the recordings it left on their source (the first `limit`) and why. */
  async describe(id: string, limit = 100) {
    const run = await this.find(id);
    const failures = await this.deps.repo.failures(run.id, limit);
    return {
      ...presentMigration(run),
      failures: failures.map((f) => ({ recordingId: f.recording_id, reason: f.reason, at: f.at.toISOString() })),
    };
  }

  pause(id?: string): Promise<StorageMigrationRow> {
    return this.transition(id, ['queued', 'running'], 'paused');
  }

  async resume(id?: string): Promise<StorageMigrationRow> {
    const run = await this.transition(id, ['paused'], 'running');
    await this.deps.kick(run.id);
    return run;
  }

  cancel(id?: string): Promise<StorageMigrationRow> {
    return this.transition(id, ['queued', 'running', 'paused'], 'cancelled');
  }

  /** Sends the run's next job. */
  kick(id: string): Promise<void> {
    return this.deps.kick(id);
  }

  /** Gives up on a run whose job ran out of retries; its last_error says why. */
  async markFailed(id: string): Promise<void> {
    await this.deps.repo.setStatus(id, ['queued', 'running'], 'failed');
  }

  /**
   * One batch of the run. 'more': send the next job; 'done': finished; 'stopped': paused, cancelled or
   * gone. Throws when a storage is unreachable, with last_error set: the job retries with backoff.
   */
  async runBatch(id: string): Promise<BatchResult> {
    const { repo } = this.deps;
    let run = await repo.find(id);
    if (!run || (run.status !== 'queued' && run.status !== 'running')) return 'stopped';
    const target = this.targetOf(run);
    if (run.status === 'queued') {
      await repo.setTotals(id, await repo.countMovable(locationOf(target), run.filters));
      if (!(await repo.setStatus(id, ['queued'], 'running'))) return 'stopped';
      run = { ...run, status: 'running' };
    }
    const batch = await repo.nextBatch(locationOf(target), run.filters, run.last_recording_id, run.batch_size, id);
    if (batch.length === 0) return (await repo.setStatus(id, ['running'], 'finished')) ? 'done' : 'stopped';
    const job: MoveJob = { migrationId: id, target, bucket: TokenBucket.perMiB(run.max_mib_per_s) };
    const settled = await this.moveAll(run, job, batch);
    if (settled.error) {
      const reason = describe(settled.error);
      await repo.setLastError(id, reason);
      this.deps.logger.warn({ migrationId: id, reason }, 'storage migrate: batch failed; the job retries');
      throw new Error(`storage migration ${id}: ${reason}`);
    }
    if (run.last_error) await repo.setLastError(id, null);
    return settled.stopped ? 'stopped' : 'more';
  }

  /** Moves the batch with `concurrency` workers; the cursor advances over the recordings all done. */
  private async moveAll(run: StorageMigrationRow, job: MoveJob, batch: MovableRecording[]) {
    const limit = pLimit(run.concurrency);
    const done = new Set<string>();
    const deadline = Date.now() + BATCH_BUDGET_MS;
    let stopped = false;
    let outOfTime = false;
    let error: unknown;
    await Promise.all(
      batch.map((recording) =>
        limit(async () => {
          if (stopped || outOfTime || error !== undefined) return;
          if (Date.now() > deadline) {
            outOfTime = true;
            return;
          }
          if (!(await this.stillRunning(run.id))) {
            stopped = true;
            return;
          }
          try {
            await this.mover.move(job, recording);
            done.add(recording.id);
          } catch (err) {
            error ??= err;
          }
        }),
      ),
    );
    const prefix = batch.findIndex((r) => !done.has(r.id));
    const last = prefix === -1 ? batch.at(-1) : batch[prefix - 1];
    if (last) await this.deps.repo.setCursor(run.id, last.id);
    return { stopped, error };
  }

  private async stillRunning(id: string): Promise<boolean> {
    return (await this.deps.repo.find(id))?.status === 'running';
  }

  private async transition(
    id: string | undefined,
    from: StorageMigrationStatus[],
    to: StorageMigrationStatus,
  ): Promise<StorageMigrationRow> {
    const run = await this.find(id);
    if (!(await this.deps.repo.setStatus(run.id, from, to))) {
      throw new AppError('MIGRATION_STATE', `Run ${run.id} is ${run.status}: it cannot be ${to} now`);
    }
    return this.find(run.id);
  }

  private targetStorage(to: StorageProviderName): Storage {
    const storage = this.deps.storages.byProvider(to);
    if (!storage) {
      throw new AppError(
        'MIGRATION_TARGET_NOT_CONFIGURED',
        `No ${to} storage is configured on this server: set its settings first (docs/storage.md)`,
      );
    }
    return storage;
  }

  private targetOf(run: StorageMigrationRow): Storage {
    return this.deps.storages.forLocation({
      provider: run.target_provider,
      bucket: run.target_bucket,
      region: run.target_region,
    });
  }
}

/** A run as the API and the CLI show it. */
export function presentMigration(run: StorageMigrationRow) {
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return {
    id: run.id,
    status: run.status,
    target: { provider: run.target_provider, bucket: run.target_bucket },
    filters: run.filters,
    batch: run.batch_size,
    concurrency: run.concurrency,
    maxMibPerS: run.max_mib_per_s,
    counts: {
      total: Number(run.total_count),
      moved: Number(run.moved_count),
      skipped: Number(run.skipped_count),
      failed: Number(run.failed_count),
    },
    bytes: { total: Number(run.total_bytes), moved: Number(run.moved_bytes) },
    lastError: run.last_error,
    startedBy: run.started_by,
    createdAt: run.created_at.toISOString(),
    startedAt: iso(run.started_at),
    finishedAt: iso(run.finished_at),
    updatedAt: run.updated_at.toISOString(),
  };
}

/** A storage error as an operator reads it: the SDK's name and message, never a stack. */
function describe(err: unknown): string {
  const e = err as { name?: string; message?: string; code?: string };
  const what = [e.name, e.code].filter((x) => x && x !== 'Error').join(' ');
  return `${what ? `${what}: ` : ''}${e.message ?? String(err)}`.slice(0, 500);
}
