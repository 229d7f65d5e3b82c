/**
 * The server refusing a take's upload for good: the bytes are not media it accepts (415), the take is
 * too large (413), the request is invalid (400, 422), not allowed (403), or the upload can no longer
 * become a recording (409 UPLOAD_NOT_FINISHABLE). The same bytes on the same upload get the same
 * answer every time, so the upload stops at once: no retry, no new upload behind the user's back.
 * The local copy stays in IndexedDB, the refusal is stored with the take (so a reload says why), and
 * only the user's "Try again" sends the take again, as a fresh upload.
 *
 * Not refusals: no answer, 408, 409 (offset conflict), 423, 429 and 5xx are transient (retried);
 * 401 is retried too (signing in again in another tab fixes it); 404/410 mean the upload is gone
 * (uploader.ts asks the session whether it became a recording, else sends the take again once).
 */
import { ApiError } from './api.ts';

/** Why the server would not take the upload, in its own words; stored with the take. */
export interface UploadRefusal {
  status: number;
  code: string;
  message: string;
  /** When it was refused (ISO 8601). */
  at: string;
}

const REFUSED_STATUSES = new Set([400, 403, 413, 415, 422]);
/** Codes that refuse for good although their status is usually transient (409 is an offset conflict). */
const REFUSED_CODES = new Set(['UPLOAD_NOT_FINISHABLE']);

export function isRefusal(status: number, code: string): boolean {
  return REFUSED_STATUSES.has(status) || REFUSED_CODES.has(code);
}

/** What a bodiless refusal (a HEAD, a proxy's page) means, in plain words. */
const PLAIN_REASONS: Record<number, string> = {
  400: 'The server refused the upload as invalid',
  403: 'The server does not allow this upload',
  404: 'The upload is no longer on the server',
  410: 'The upload is no longer on the server',
  413: 'The take is larger than the server accepts',
  415: 'The server does not accept this file type',
  422: 'The server refused the upload as invalid',
};

export function plainReason(status: number): string | undefined {
  const reason = PLAIN_REASONS[status];
  return reason ? `${reason} (HTTP ${status})` : undefined;
}

/** The upload's `done` rejects with this when the server refused it for good. */
export class UploadRefusedError extends ApiError {
  readonly refusal: UploadRefusal;

  constructor(cause: ApiError) {
    super(cause.status, cause.code, cause.message, cause.details);
    this.name = 'UploadRefusedError';
    this.refusal = { status: cause.status, code: cause.code, message: cause.message, at: new Date().toISOString() };
  }
}

export function isUploadRefused(err: unknown): err is UploadRefusedError {
  return err instanceof UploadRefusedError;
}
