/**
 * Moving one recording, in this order, so that a crash (kill -9) between any two steps loses nothing:
 *  1. copy: stream its media and thumbnail from the storage its row names to the target, under the same
 *     keys (keys.ts made them from the recording's ids; nothing here takes a key from input);
 *  2. verify: read the target's copy back and compare its size and sha256 with the row's;
 *  3. switch: in one transaction, point the row at the target only if it still points at the copied
 *     source, queue the source objects for deletion after the grace period, count the move;
 *  4. the outbox deletes the source objects once the grace period is over.
 * Before step 3 the row points at an intact source (a rerun copies again, over the same keys); after it,
 * at a verified target. A mismatch is a failure of this recording, never of the run.
 */
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { Logger } from '../logger.js';
import { recordingPrefix } from '../storage/keys.js';
import { type StorageLocation, StorageNotConfiguredError, type StorageRegistry } from '../storage/registry.js';
import { NotFoundError, SizeMismatchError, type Storage } from '../storage/storage.js';
import type { MovableRecording, StorageMigrationRepository } from './storage-migration.repository.js';
import { throttled, type TokenBucket } from './throttle.js';

export type MoveOutcome = 'moved' | 'skipped' | 'failed';

/** Where a test makes the process die (kill -9 of itself): STORAGE_MIGRATE_CRASH_AT. */
export const CRASH_POINTS = ['after-copy', 'after-verify', 'after-switch'] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

/** A recording that cannot move as it is: left on its source, reported with this reason. */
export class MoveRefused extends Error {
  override name = 'MoveRefused';
}

export interface MoverDeps {
  repo: StorageMigrationRepository;
  storages: StorageRegistry;
  logger: Logger;
  /** How long a moved recording's source objects stay (a player mid-stream keeps playing). */
  graceMs: number;
  crashAt?: CrashPoint | undefined;
}

export interface MoveJob {
  migrationId: string;
  target: Storage;
  bucket?: TokenBucket | undefined;
}

/** A row changed under us this often in a row: counted as skipped, retried by the next run. */
const SWITCH_ATTEMPTS = 3;

export class RecordingMover {
  constructor(private readonly deps: MoverDeps) {}

  /**
   * Moves the recording; 'failed' was recorded with its reason. Throws for what is not the recording's
   * fault (a storage unreachable): the batch stops and the job retries.
   */
  async move(job: MoveJob, first: MovableRecording): Promise<MoveOutcome> {
    let recording: MovableRecording | undefined = first;
    for (let attempt = 1; attempt <= SWITCH_ATTEMPTS && recording; attempt++) {
      if (isAt(recording, locationOf(job.target))) return 'skipped';
      try {
        if (await this.copyVerifySwitch(job, recording)) return 'moved';
      } catch (err) {
        if (!(err instanceof MoveRefused)) throw err;
        await this.deps.repo.recordFailure(job.migrationId, recording.id, err.message);
        this.deps.logger.warn({ recordingId: recording.id, reason: err.message }, 'storage migrate: left on source');
        return 'failed';
      }
      // Deleted, re-processed or moved meanwhile: never overwritten; look again.
      recording = await this.deps.repo.current(recording.id);
    }
    await this.deps.repo.countSkipped(job.migrationId);
    return 'skipped';
  }

  private async copyVerifySwitch(job: MoveJob, r: MovableRecording): Promise<boolean> {
    const source = this.sourceOf(r);
    const keys = keysOf(r);
    const prefix = recordingPrefix(r.user_id, r.id);
    const foreign = keys.find((key) => !key.startsWith(prefix));
    // Keys come from keys.ts at upload and processing; one outside the recording's prefix was not made there.
    if (foreign) throw new MoveRefused(`key ${foreign} is not under ${prefix}; moved only by hand`);
    const target = locationOf(job.target);
    await this.deps.repo.cancelDeletions(target, keys);
    const copied = await this.copy(job, source, r);
    this.crashPoint('after-copy');
    await verify(job.target, keys, copied);
    this.crashPoint('after-verify');
    const switched = await this.deps.repo.switchRow({
      migrationId: job.migrationId,
      recording: r,
      target,
      cdnUrl: job.target.publicUrl(r.storage_key) ?? null,
      sourceKeys: keys,
      notBefore: new Date(Date.now() + this.deps.graceMs),
      bytes: copied.get(r.storage_key)?.size ?? 0,
    });
    if (!switched) await this.discardCopies(job.target, r);
    else this.crashPoint('after-switch');
    return switched;
  }

  /** The copies' sizes and digests, by key; refuses a source that does not match its row. */
  private async copy(job: MoveJob, source: Storage, r: MovableRecording) {
    const copied = new Map<string, { size: number; sha256: string }>();
    // the media and each version are checked against their rows' size and sha256; the thumbnail has none
    const expected = new Map<string, { size: number | undefined; sha256: string | undefined }>([
      [r.storage_key, { size: r.file_size === null ? undefined : Number(r.file_size), sha256: r.metadata?.sha256 }],
      ...r.versions.map((v) => [v.key, { size: Number(v.size), sha256: v.sha256 }] as const),
    ]);
    try {
      for (const key of keysOf(r)) {
        const facts = expected.get(key);
        const put = await this.copyObject(job, source, key, facts?.size);
        copied.set(key, put);
        if (facts?.sha256 !== undefined && put.sha256 !== facts.sha256)
          throw new MoveRefused(`source ${key}: sha256 ${put.sha256} does not match the row's ${facts.sha256}`);
      }
    } catch (err) {
      // a recording left on its source leaves nothing at the target (a version refused after the media)
      if (err instanceof MoveRefused) for (const key of copied.keys()) await job.target.delete(key);
      throw err;
    }
    return copied;
  }

  private async copyObject(job: MoveJob, source: Storage, key: string, size: number | undefined) {
    let body: Readable;
    try {
      body = (await source.get(key)).body;
    } catch (err) {
      if (err instanceof NotFoundError) throw new MoveRefused(`source ${key}: no such object at ${source.provider}`);
      throw err;
    }
    const input = job.bucket ? body.pipe(throttled(job.bucket)) : body;
    if (job.bucket) body.on('error', (err) => input.destroy(err));
    try {
      return await job.target.put(key, input, { size });
    } catch (err) {
      if (err instanceof SizeMismatchError) {
        throw new MoveRefused(`source ${key}: ${err.actual} bytes, the row says ${err.expected}`);
      }
      throw err;
    }
  }

  private sourceOf(r: MovableRecording): Storage {
    const location = { provider: r.storage_provider, bucket: r.storage_bucket, region: r.storage_region };
    try {
      return this.deps.storages.forLocation(location);
    } catch (err) {
      if (err instanceof StorageNotConfiguredError) throw new MoveRefused(err.message);
      throw err;
    }
  }

  /** A switch that found the row changed: the copies belong to no row, unless it now points at them. */
  private async discardCopies(target: Storage, r: MovableRecording): Promise<void> {
    const now = await this.deps.repo.current(r.id);
    if (now && isAt(now, locationOf(target))) return;
    for (const key of keysOf(r)) await target.delete(key);
  }

  private crashPoint(point: CrashPoint): void {
    if (this.deps.crashAt === point) process.kill(process.pid, 'SIGKILL');
  }
}

/** Reads every copy back: the size and sha256 the copy measured (the media's matched the row's). */
async function verify(target: Storage, keys: string[], copied: Map<string, { size: number; sha256: string }>) {
  for (const key of keys) {
    const expected = copied.get(key);
    const read = await digestOf(target, key);
    if (!expected || read.size !== expected.size || read.sha256 !== expected.sha256) {
      await target.delete(key);
      const wanted = expected ? `${expected.size} bytes, sha256 ${expected.sha256}` : 'nothing';
      throw new MoveRefused(`target ${key}: read back ${read.size} bytes, sha256 ${read.sha256}; wrote ${wanted}`);
    }
  }
}

export async function digestOf(storage: Storage, key: string): Promise<{ size: number; sha256: string }> {
  const { body } = await storage.get(key);
  const hash = createHash('sha256');
  let size = 0;
  await pipeline(body, async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) {
      size += chunk.length;
      hash.update(chunk);
    }
  });
  return { size, sha256: hash.digest('hex') };
}

export function locationOf(storage: Storage): StorageLocation {
  return { provider: storage.provider, bucket: storage.bucket ?? null, region: storage.region ?? null };
}

function isAt(r: MovableRecording, location: StorageLocation): boolean {
  return r.storage_provider === location.provider && (r.storage_bucket ?? null) === location.bucket;
}

/** The recording's objects: its media, its thumbnail when it has one, and its ready versions (issue 12). */
export function keysOf(r: MovableRecording): string[] {
  const thumbnail = r.metadata?.thumbnail_key;
  const versions = (r.versions ?? []).flatMap((v) => (v.thumbnail ? [v.key, v.thumbnail] : [v.key]));
  return [r.storage_key, ...(thumbnail ? [thumbnail] : []), ...versions];
}
