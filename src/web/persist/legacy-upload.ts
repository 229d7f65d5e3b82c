/**
 * One legacy item up through tus (POST /api/uploads, the resumable path every take uses), with the
 * legacy metadata of the import contract. The whole Blob is known, so unlike a live take the length is
 * declared at creation and tus-js-client slices the Blob itself.
 *
 * Resuming: the upload URL is stored by tus-js-client under a fingerprint made of the legacy key, so a tab
 * killed mid-item finds it on the next run and sends only what the server lacks. An upload the server no
 * longer has (finished, or lost) makes tus-js-client create a new one: harmless, because the server claims
 * the legacy key once — a second upload of the same item points at the first one's recording.
 */
import * as tus from 'tus-js-client';
import type { LegacySource } from '../../shared/legacy-format.ts';
import { ApiError, type ApiClient } from './api.ts';
import { tusApiError } from './uploader.ts';

export interface LegacyUploadInput {
  client: ApiClient;
  importId: string;
  legacySource: LegacySource;
  legacyId: string;
  sha256: string;
  blob: Blob;
  metadata: Record<string, string>;
  onProgress?: (sent: number, total: number) => void;
  chunkSize?: number;
  signal?: AbortSignal;
}

const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000];
const PERMANENT = new Set([400, 403, 404, 409, 413, 415, 422]);

/** The fingerprint tus-js-client stores the upload URL under: one per legacy key and import. */
export const legacyFingerprint = (i: { legacySource: string; legacyId: string; sha256: string }) =>
  `recorder-legacy:${i.legacySource}:${i.legacyId}:${i.sha256}`;

export interface LegacyUploadResult {
  /** The recording the server made of the item, or already had; null: imported before and deleted since. */
  recordingId: string | null;
  /** The server's Import-Outcome: this upload made the recording, or the legacy key was claimed already. */
  outcome: 'imported' | 'already';
}

/** Uploads the item; resolves with the recording the server made of it (or already had). */
export function uploadLegacyItem(i: LegacyUploadInput): Promise<LegacyUploadResult> {
  return new Promise((resolve, reject) => {
    let recordingId: string | undefined;
    let outcome: string | undefined;
    const upload = new tus.Upload(i.blob, {
      endpoint: i.client.absolute('/api/uploads'),
      metadata: {
        ...i.metadata,
        importId: i.importId,
        legacySource: i.legacySource,
        legacyId: i.legacyId,
        legacySha256: i.sha256,
      },
      chunkSize: i.chunkSize ?? 8 * 1024 * 1024,
      retryDelays: RETRY_DELAYS,
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      fingerprint: () => Promise.resolve(legacyFingerprint(i)),
      onShouldRetry: (err) => {
        const e = tusApiError(err);
        return !PERMANENT.has(e.status) || e.code === 'HTTP_409';
      },
      onAfterResponse: (_req, res) => {
        const rid = res.getHeader('Recording-Id');
        if (rid) recordingId = rid;
        const said = res.getHeader('Import-Outcome');
        if (said) outcome = said;
      },
      onProgress: (sent, total) => i.onProgress?.(sent, total),
      onSuccess: ({ lastResponse }) => {
        const rid = lastResponse.getHeader('Recording-Id') ?? recordingId;
        const said = lastResponse.getHeader('Import-Outcome') ?? outcome;
        if (rid) resolve({ recordingId: rid, outcome: said === 'already' ? 'already' : 'imported' });
        else if (said === 'already') resolve({ recordingId: null, outcome: 'already' });
        else
          reject(new ApiError(0, 'NO_RECORDING_ID', 'The server finished the upload but did not name its recording'));
      },
      onError: (err) => reject(tusApiError(err)),
    });
    i.signal?.addEventListener('abort', () => {
      void upload.abort();
      reject(new ApiError(0, 'ABORTED', 'The import was stopped'));
    });
    upload.findPreviousUploads().then(
      (previous) => {
        const last = previous[previous.length - 1];
        if (last) upload.resumeFromPreviousUpload(last);
        upload.start();
      },
      () => upload.start(),
    );
  });
}

/** Forgets a stored upload URL (after the server refused the bytes, the next try starts afresh). */
export async function forgetLegacyUpload(i: { legacySource: string; legacyId: string; sha256: string }) {
  const storage = tus.defaultOptions.urlStorage;
  if (!storage) return;
  const found = await storage.findUploadsByFingerprint(legacyFingerprint(i)).catch(() => []);
  for (const u of found) await storage.removeUpload(u.urlStorageKey).catch(() => undefined);
}
