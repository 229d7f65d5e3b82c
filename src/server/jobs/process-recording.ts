/**
 * The `recording-process` job: hands the recording to ProcessingService (recordings/processing.service.ts)
 * and turns a failure into a pg-boss retry; after the last attempt the recording is marked failed.
 */
import type { Kysely } from 'kysely';
import type PgBoss from 'pg-boss';
import type { DB } from '../db/schema.js';
import type { Logger } from '../logger.js';
import type { MediaTools } from '../media/ffmpeg.js';
import { ProcessingService, type ProcessOutcome, recordProcessingFailure } from '../recordings/processing.service.js';
import { RecordingsRepository } from '../recordings/recordings.repository.js';
import type { StorageRegistry } from '../storage/registry.js';
import type { Storage } from '../storage/storage.js';

export interface ProcessDeps {
  db: Kysely<DB>;
  /** Every configured storage (a single Storage: that one alone); each row is read where it says. */
  storage: StorageRegistry | Storage;
  /** undefined: no ffmpeg here; duration comes from mediabunny and no thumbnail is made. */
  tools: MediaTools | undefined;
  logger: Logger;
  tmpDir?: string;
}

export interface ProcessJobData {
  recordingId: string;
}

export function processingService({ db, ...rest }: ProcessDeps): ProcessingService {
  return new ProcessingService({ recordings: new RecordingsRepository(db), ...rest });
}

/** One run of processing, outside the queue (tests, tools). */
export function processRecording(deps: ProcessDeps, recordingId: string): Promise<ProcessOutcome> {
  return processingService(deps).process(recordingId);
}

/** The last attempt failed: the recording says why; its original media stays as it was. */
export function markFailed(db: Kysely<DB>, recordingId: string, reason: string): Promise<void> {
  return recordProcessingFailure(new RecordingsRepository(db), recordingId, reason);
}

/** A failure is rethrown so pg-boss retries it (queue options in boss.ts); the last one is recorded first. */
export async function runProcessJob(
  service: ProcessingService,
  logger: Logger,
  job: PgBoss.JobWithMetadata<ProcessJobData>,
): Promise<void> {
  const { recordingId } = job.data;
  try {
    await service.process(recordingId);
  } catch (err) {
    const reason = (err as Error).message;
    const last = job.retryCount >= job.retryLimit;
    logger.warn({ recordingId, attempt: job.retryCount + 1, last, reason }, 'recording processing failed');
    if (last) await service.markFailed(recordingId, reason);
    throw err;
  }
}
