/**
 * The `version-render` job (issue 12): hands the version to VersionsService.render (versions.service.ts).
 * ffmpeg refusing the edits is recorded there and ends the job; any other failure is rethrown so pg-boss
 * retries it, and after the last attempt the version is marked failed with the reason.
 */
import type { Kysely } from 'kysely';
import type PgBoss from 'pg-boss';
import type { DB } from '../db/schema.js';
import { EditsRepository } from '../edits/edits.repository.js';
import { EditsService } from '../edits/edits.service.js';
import type { Logger } from '../logger.js';
import type { MediaTools } from '../media/ffmpeg.js';
import type { StorageRegistry } from '../storage/registry.js';
import { VersionsRepository } from '../versions/versions.repository.js';
import { VersionsService } from '../versions/versions.service.js';
import type { JobQueue } from './queue.js';

export interface RenderJobData {
  versionId: string;
}

export interface RenderDeps {
  db: Kysely<DB>;
  storage: StorageRegistry;
  tools: MediaTools | undefined;
  logger: Logger;
  queue: JobQueue;
  tmpDir?: string;
}

export function versionsService({ db, storage, ...rest }: RenderDeps): VersionsService {
  return new VersionsService({
    repo: new VersionsRepository(db),
    edits: new EditsService(new EditsRepository(db)),
    storages: storage,
    ...rest,
  });
}

export async function runRenderJob(
  service: VersionsService,
  logger: Logger,
  job: PgBoss.JobWithMetadata<RenderJobData>,
): Promise<void> {
  const { versionId } = job.data;
  try {
    await service.render(versionId);
  } catch (err) {
    const reason = (err as Error).message;
    const last = job.retryCount >= job.retryLimit;
    logger.warn({ versionId, attempt: job.retryCount + 1, last, reason }, 'version render failed');
    if (last) await service.markFailed(versionId, `The render could not be stored: ${reason}`);
    throw err;
  }
}
