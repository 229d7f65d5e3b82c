/**
 * Hourly housekeeping of what only expires:
 * - sign-in sessions past their expiry (already refused when presented; deleted so the table stays small);
 * - complete uploads whose finish a transient failure (storage, database) interrupted are finished;
 * - tus uploads nobody finished within UPLOAD_EXPIRY_MS: their bytes in DATA_DIR/uploads go (the file
 *   store's own expiry), and their `uploads` rows become `failed`. A take's local copy in the browser is
 *   untouched: recovering it later starts a new upload from IndexedDB.
 * Each step is idempotent; a crash halfway leaves the rest for the next run.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import type { Logger } from '../logger.js';

/** The tus file store's expiration period (uploads.routes.ts) — one week. */
export const UPLOAD_EXPIRY_MS = 7 * 86_400_000;

export interface HousekeepingDeps {
  db: Kysely<DB>;
  logger: Logger;
  /** Deletes expired upload files; resolves to how many (the tus datastore's deleteExpired). */
  expireUploadFiles?: () => Promise<number>;
  /** Finishes complete uploads a transient failure left `uploading` (uploads.routes.ts recoverFinished). */
  recoverFinished?: () => Promise<number>;
  now?: () => Date;
}

export async function housekeeping(
  deps: HousekeepingDeps,
): Promise<{ authSessions: number; uploadRows: number; uploadFiles: number; uploadsFinished: number }> {
  const now = deps.now?.() ?? new Date();
  // First, so a complete upload whose finish failed becomes its recording before anything expires it.
  const uploadsFinished = (await deps.recoverFinished?.()) ?? 0;
  const auth = await deps.db.deleteFrom('auth_sessions').where('expires_at', '<=', now).executeTakeFirst();
  const uploadFiles = (await deps.expireUploadFiles?.()) ?? 0;
  const rows = await deps.db
    .updateTable('uploads')
    .set({ status: 'failed' })
    .where('status', '=', 'uploading')
    .where('created_at', '<', new Date(now.getTime() - UPLOAD_EXPIRY_MS))
    .executeTakeFirst();
  const result = {
    authSessions: Number(auth.numDeletedRows),
    uploadRows: Number(rows.numUpdatedRows),
    uploadFiles,
    uploadsFinished,
  };
  if (result.authSessions || result.uploadRows || result.uploadFiles || result.uploadsFinished)
    deps.logger.info(result, 'housekeeping finished stuck uploads and removed expired sessions and uploads');
  return result;
}
