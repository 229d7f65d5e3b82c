/**
 * tus answers as our other routes answer: every error a JSON {code, message} from the one catalogue, with
 * the status tus 1.0 prescribes where @tus/server 2 differs (docs/api.md, "Uploads"): an unsupported
 * Tus-Resumable is 412 with Tus-Version (not 400), a PATCH without Upload-Offset 400 (not 403), a PATCH
 * without the offset+octet-stream Content-Type 415 (not 403 or 400). No error text of a failure we did
 * not foresee reaches the client: that is a 500 INTERNAL, logged where it happened.
 */
import { ERRORS as TUS_ERRORS, TUS_VERSION } from '@tus/server';
import { ERRORS, type ErrorCode } from '../errors.js';

type TusErrorName = keyof typeof TUS_ERRORS;

/** Each error @tus/server throws (by its fixed body text), as our code; messages from the catalogue. */
const CODE_OF: Record<TusErrorName, ErrorCode> = {
  MISSING_OFFSET: 'UPLOAD_OFFSET_REQUIRED',
  ABORTED: 'UPLOAD_ABORTED',
  INVALID_TERMINATION: 'UPLOAD_NOT_FINISHABLE',
  ERR_LOCK_TIMEOUT: 'UPLOAD_LOCKED',
  INVALID_CONTENT_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FILE_NOT_FOUND: 'UPLOAD_NOT_FOUND',
  INVALID_OFFSET: 'UPLOAD_OFFSET_CONFLICT',
  FILE_NO_LONGER_EXISTS: 'UPLOAD_GONE',
  ERR_SIZE_EXCEEDED: 'PAYLOAD_TOO_LARGE',
  ERR_MAX_SIZE_EXCEEDED: 'PAYLOAD_TOO_LARGE',
  INVALID_LENGTH: 'UPLOAD_LENGTH_INVALID',
  INVALID_METADATA: 'TUS_HEADER_INVALID',
  UNKNOWN_ERROR: 'INTERNAL',
  FILE_WRITE_ERROR: 'INTERNAL',
  UNSUPPORTED_CONCATENATION_EXTENSION: 'TUS_EXTENSION_UNSUPPORTED',
  UNSUPPORTED_CREATION_DEFER_LENGTH_EXTENSION: 'TUS_EXTENSION_UNSUPPORTED',
  UNSUPPORTED_EXPIRATION_EXTENSION: 'TUS_EXTENSION_UNSUPPORTED',
};

/** Where our message says more than the catalogue's. */
const MESSAGE_OF: Partial<Record<TusErrorName, string>> = {
  INVALID_CONTENT_TYPE: 'A PATCH carries its bytes as Content-Type: application/offset+octet-stream',
  INVALID_TERMINATION: 'This upload is complete and became a recording: delete the recording instead',
  INVALID_METADATA: 'Upload-Metadata is not valid: comma-separated "key base64-value" pairs, each key once',
  ERR_SIZE_EXCEEDED: 'The upload is larger than its Upload-Length',
};

const BY_BODY = new Map<string, TusErrorName>(
  (Object.keys(CODE_OF) as TusErrorName[])
    .filter((name) => name !== 'UNKNOWN_ERROR')
    .map((name) => [TUS_ERRORS[name].body, name]),
);

export interface JsonError {
  status: number;
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

const fromCatalogue = (code: ErrorCode, message?: string, details?: Record<string, unknown>): JsonError => ({
  status: ERRORS[code].status,
  code,
  message: message ?? ERRORS[code].message,
  ...(details ? { details } : {}),
});

/**
 * Headers @tus/server found invalid ("Invalid tus-resumable upload-offset"): a version it does not speak
 * is 412, a PATCH's Content-Type 415, any other header 400 naming it.
 */
function invalidHeaders(text: string): JsonError {
  const headers = text.slice('Invalid '.length).trim().split(/\s+/);
  if (headers.includes('tus-resumable')) return fromCatalogue('TUS_VERSION_UNSUPPORTED');
  if (headers.includes('content-type')) return fromCatalogue('UNSUPPORTED_MEDIA_TYPE', MESSAGE_OF.INVALID_CONTENT_TYPE);
  return fromCatalogue('TUS_HEADER_INVALID', `Not a valid tus header value: ${headers.join(', ')}`, { headers });
}

/** A plain-text tus error (its status and body) as our JSON error. */
export function tusJsonError(status: number, text: string): JsonError {
  const known = BY_BODY.get(text);
  if (known) return fromCatalogue(CODE_OF[known], MESSAGE_OF[known]);
  if (status === 412) return fromCatalogue('TUS_VERSION_UNSUPPORTED');
  if (status === 400 && text.startsWith('Invalid ')) return invalidHeaders(text);
  if (status === 404) return fromCatalogue('ROUTE_NOT_FOUND', 'tus uploads take POST, HEAD, PATCH, DELETE, OPTIONS');
  if (status >= 400 && status < 500) return { status, code: 'VALIDATION_FAILED', message: text.trim() };
  return fromCatalogue('INTERNAL');
}

export const bodyOf = (e: JsonError) =>
  JSON.stringify({ code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) });

/**
 * The response @tus/server made, as the client gets it: CORS only for our own origin (tus would answer
 * any origin, or `*`), and every error JSON with our code and the protocol's status.
 */
export async function finishTusResponse(response: Response, origin: string | undefined, ours: string) {
  const headers = response.headers;
  headers.delete('Access-Control-Allow-Origin');
  if (origin === ours) headers.set('Access-Control-Allow-Origin', origin);
  headers.append('Vary', 'Origin');
  if (response.status < 400) return response;
  let text = await response.text();
  let status = response.status;
  if (!text.startsWith('{')) {
    const error = tusJsonError(status, text);
    status = error.status;
    text = bodyOf(error);
    if (error.code === 'TUS_VERSION_UNSUPPORTED') headers.set('Tus-Version', TUS_VERSION.join(','));
  }
  headers.set('Content-Type', 'application/json; charset=utf-8');
  headers.set('Content-Length', String(Buffer.byteLength(text)));
  // Like every JSON answer (web/security-headers.ts, whose onSend a hijacked tus reply skips).
  headers.set('Cache-Control', 'no-store');
  return new Response(text, { status, headers });
}
