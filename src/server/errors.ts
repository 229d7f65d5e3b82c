/**
 * The one error catalogue: every error a client can see has a stable machine-readable code,
 * an HTTP status and a human message. 5xx never carry internals.
 */
export const ERRORS = {
  VALIDATION_FAILED: { status: 400, message: 'The request is not valid' },
  INVALID_CURSOR: { status: 400, message: 'The cursor is not one this server gave out' },
  ANALYTICS_RANGE_INVALID: {
    status: 400,
    message: 'The date range is not valid: from and to are days (YYYY-MM-DD), from <= to, at most 366 days, tz IANA',
  },
  INVALID_TEXT: { status: 400, message: 'Text must not contain NUL characters or unpaired UTF-16 surrogates' },
  JSON_TOO_DEEP: { status: 400, message: 'The JSON body is nested too deeply' },
  TUS_HEADER_INVALID: { status: 400, message: 'A tus header of this request is not valid' },
  UPLOAD_OFFSET_REQUIRED: { status: 400, message: 'A PATCH must say where its bytes go: Upload-Offset' },
  UPLOAD_LENGTH_INVALID: { status: 400, message: 'Upload-Length or Upload-Defer-Length is missing or not valid' },
  UPLOAD_ABORTED: { status: 400, message: 'The upload request was cut off; ask for its offset and resume' },
  EDIT_INVALID: { status: 400, message: 'This edit cannot be applied to this recording' },
  WEAK_PASSWORD: { status: 400, message: 'This password is too easy to guess: choose a stronger one' },
  UNAUTHENTICATED: { status: 401, message: 'Sign in first' },
  INVALID_CREDENTIALS: { status: 401, message: 'Email or password is wrong' },
  METRICS_TOKEN_REQUIRED: { status: 401, message: 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>' },
  FORBIDDEN: { status: 403, message: 'You may not do that' },
  ORIGIN_MISMATCH: { status: 403, message: 'Cross-site request refused: it must come from this site' },
  SESSION_REQUIRED: {
    status: 403,
    message: 'An API token cannot do this: sign in with your password (the web app) and do it there',
  },
  SERVER_STORAGE_DISABLED: {
    status: 403,
    message: 'Recordings of this account are kept in this browser; the server accepts only imports',
  },
  NOT_FOUND: { status: 404, message: 'Not found' },
  RECORDING_NOT_FOUND: { status: 404, message: 'No such recording' },
  PROJECT_NOT_FOUND: { status: 404, message: 'No such project' },
  UPLOAD_NOT_FOUND: { status: 404, message: 'No such upload' },
  SESSION_NOT_FOUND: { status: 404, message: 'No such recording session' },
  TOKEN_NOT_FOUND: { status: 404, message: 'No such API token' },
  USER_NOT_FOUND: { status: 404, message: 'No user with that email' },
  ROUTE_NOT_FOUND: { status: 404, message: 'No such route' },
  IMPORT_NOT_FOUND: { status: 404, message: 'No such import' },
  VERSION_NOT_FOUND: { status: 404, message: 'No such version of this recording' },
  EMAIL_TAKEN: { status: 409, message: 'An account with this email exists already' },
  ALREADY_MEMBER: { status: 409, message: 'That user is a member of the project already' },
  LAST_OWNER: { status: 409, message: 'A project keeps at least one owner' },
  SESSION_CLOSED: { status: 409, message: 'This take was kept already: change its recording instead' },
  SESSION_DISCARDED: { status: 409, message: 'This take was discarded' },
  UPLOAD_NOT_FINISHABLE: {
    status: 409,
    message: 'This upload was terminated or failed; it can no longer become a recording',
  },
  IMPORT_FINISHED: { status: 409, message: 'This import is finished; start a new one to import more' },
  NOT_RETRYABLE: { status: 409, message: 'Only a failed recording can be processed again' },
  RECORDING_CHANGED: { status: 409, message: 'The recording moved while you were changing it; try again' },
  NOTHING_TO_RENDER: { status: 409, message: 'There are no edits to render: make an edit first' },
  VERSION_STALE: {
    status: 409,
    message: 'The edits changed since you loaded them (another tab or editor): reload them and save again',
  },
  VERSION_NOT_READY: { status: 409, message: 'Only a version that finished rendering can be made current' },
  RENDERING_UNAVAILABLE: {
    status: 503,
    message: 'This server cannot render versions: ffmpeg is not installed (see docs/editor.md)',
  },
  EDIT_CONFLICT: {
    status: 409,
    message: 'The edit history changed since you loaded it (another tab or editor): here it is as it stands now',
  },
  NOTHING_TO_UNDO: { status: 409, message: 'There is no edit to undo' },
  NOTHING_TO_REDO: { status: 409, message: 'There is no undone edit to redo' },
  RECORDING_PROCESSING: { status: 409, message: 'The recording is still being processed; try again when it is ready' },
  PRECONDITION_REQUIRED: {
    status: 428,
    message: 'Send the revision your change is based on: If-Match: "<revision>" (from the ETag of the history)',
  },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The upload is larger than this server accepts' },
  JSON_TOO_LARGE: { status: 413, message: 'The JSON body is larger than this server accepts' },
  TUS_VERSION_UNSUPPORTED: { status: 412, message: 'This server speaks tus 1.0.0 only (Tus-Resumable: 1.0.0)' },
  UPLOAD_GONE: { status: 410, message: 'This upload was terminated or failed; it no longer exists' },
  UPLOAD_LOCKED: { status: 423, message: 'Another request is writing this upload; retry shortly' },
  TUS_EXTENSION_UNSUPPORTED: { status: 501, message: 'This server does not support that tus extension' },
  RANGE_NOT_SATISFIABLE: { status: 416, message: 'The requested range is outside the file' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'This file type is not accepted' },
  LEGACY_SHA256_MISMATCH: {
    status: 422,
    message: 'The uploaded bytes do not have the sha256 the import announced; nothing was kept',
  },
  UNPROCESSABLE: { status: 422, message: 'The request is well-formed but cannot be carried out' },
  MEDIA_UNAVAILABLE: { status: 409, message: 'The recording has no media yet' },
  RATE_LIMITED: { status: 429, message: 'Too many attempts; wait a minute and try again' },
  COMMENT_NOT_FOUND: { status: 404, message: 'No such comment on this recording' },
  COMMENT_EMPTY: { status: 400, message: 'A comment needs some text' },
  COMMENT_TOO_LONG: { status: 400, message: 'A comment is at most 5,000 characters' },
  COMMENT_AT_INVALID: { status: 400, message: 'The time of a comment must be within the recording' },
  COMMENT_PARENT_INVALID: { status: 400, message: 'A reply must answer a comment of the same recording' },
  COMMENT_DELETED: { status: 409, message: 'This comment was deleted' },
  COMMENT_RATE_LIMITED: { status: 429, message: 'Too many comments from here; wait a minute and try again' },
  SHARE_NO_COMMENTS: { status: 403, message: 'This link does not allow comments' },
  NOT_READY: { status: 503, message: 'The service is not ready' },
  STORAGE_UNAVAILABLE: { status: 503, message: 'Media storage is not reachable right now; try again shortly' },
  STORAGE_NOT_CONFIGURED: {
    status: 503,
    message: "This recording's media is in a storage this server has no settings for; an operator must add them",
  },
  DB_UNAVAILABLE: { status: 503, message: 'The database is not answering right now; try again shortly' },
  MIGRATION_NOT_FOUND: { status: 404, message: 'No such storage migration' },
  MIGRATION_RUNNING: {
    status: 409,
    message: 'Another storage migration is queued, running or paused: finish, resume or cancel it first',
  },
  MIGRATION_STATE: { status: 409, message: 'The storage migration is not in a state that allows this' },
  MIGRATION_TARGET_NOT_CONFIGURED: {
    status: 409,
    message: 'That storage is not configured on this server: set its settings first (docs/storage.md)',
  },
  UPLOAD_OFFSET_CONFLICT: { status: 409, message: 'The upload is not at that offset; ask for its offset and resume' },
  SHARE_NOT_FOUND: { status: 404, message: 'This link does not exist' },
  SHARE_REVOKED: { status: 410, message: 'This link was revoked by its owner' },
  SHARE_EXPIRED: { status: 410, message: 'This link has expired' },
  SHARE_GONE: { status: 410, message: 'This recording was deleted' },
  SHARE_PASSWORD_REQUIRED: { status: 401, message: 'This link is password-protected: enter its password' },
  SHARE_PASSWORD_WRONG: { status: 401, message: 'The password is wrong' },
  SHARE_RATE_LIMITED: { status: 429, message: 'Too many wrong passwords; wait and try again' },
  SHARE_NO_DOWNLOAD: { status: 403, message: 'This link does not allow downloading' },
  INTERNAL: { status: 500, message: 'Something went wrong on our side' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly details?: unknown,
  ) {
    super(message ?? ERRORS[code].message);
    this.status = ERRORS[code].status;
    this.name = 'AppError';
  }
}
