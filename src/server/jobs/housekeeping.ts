/**
 * Hourly housekeeping of what only expires:
 * - complete uploads whose finish a transient failure (storage, database) interrupted are finished;
 * - sign-in sessions past their expiry (already refused when presented; deleted so the table stays small);
 * - tus uploads nobody finished within UPLOAD_EXPIRY_MS: their multipart upload is aborted or their file
 *   removed, and their `uploads` rows become `failed`. A take's local copy in the browser is untouched:
 *   recovering it later starts a new upload from IndexedDB.
 * Each step is idempotent; a crash halfway leaves the rest for the next run. A thin adapter: the work is
 * the services'.
 */
import type { Logger } from '../logger.js';
import { UPLOAD_EXPIRY_MS } from '../uploads/upload-store.js';

export interface HousekeepingDeps {
  logger: Logger;
  /** Deletes sign-in sessions expired at `now`; resolves to how many (AuthRepository). */
  expireSignIns: (now: Date) => Promise<number>;
  /** Aborts uploads created before `before`; resolves to how many (UploadsService.expire). */
  expireUploads?: (before: Date) => Promise<number>;
  /** Finishes complete uploads a transient failure left `uploading` (UploadsService.recoverFinished). */
  recoverFinished?: () => Promise<number>;
  now?: () => Date;
}

export async function housekeeping(
  deps: HousekeepingDeps,
): Promise<{ authSessions: number; uploadsExpired: number; uploadsFinished: number }> {
  const now = deps.now?.() ?? new Date();
  // First, so a complete upload whose finish failed becomes its recording before anything expires it.
  const uploadsFinished = (await deps.recoverFinished?.()) ?? 0;
  const authSessions = await deps.expireSignIns(now);
  const uploadsExpired = (await deps.expireUploads?.(new Date(now.getTime() - UPLOAD_EXPIRY_MS))) ?? 0;
  const result = { authSessions, uploadsExpired, uploadsFinished };
  if (authSessions || uploadsExpired || uploadsFinished) {
    deps.logger.info(result, 'housekeeping finished stuck uploads and removed expired sessions and uploads');
  }
  return result;
}
