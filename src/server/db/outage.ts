/**
 * Tells "the database does not answer right now" apart from every other failure, so that an outage is a
 * 503 DB_UNAVAILABLE with Retry-After (clients and tus uploads retry) instead of a 500, and so that logs
 * say "paused" rather than "bug". One place for the list; the HTTP error handler, the tus error mapping,
 * /ready and the job queue all ask it.
 */
import { AppError } from '../errors.js';

/** Seconds a client should wait before retrying while the database is away (an embedded restart takes ~1-3 s). */
export const DB_RETRY_AFTER_SECONDS = 5;

/** Network failures of the socket to PostgreSQL (refused while it restarts, reset when it dies, unreachable). */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs that mean the server, not the statement, is the problem: admin/crash shutdown, "the database
 * system is starting up", too many connections, and a statement cut by statement_timeout (57014: the
 * server is too slow to answer now; the same request later may succeed).
 */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '57014']);

/** What node-postgres and pg-pool throw when the connection dies, cannot be made in time, or is unusable. */
const DRIVER_MESSAGES = [
  /^Connection terminated/, // "... unexpectedly", "... due to connection timeout"
  /^timeout exceeded when trying to connect$/, // pg-pool: connectionTimeoutMillis elapsed
  /^Query read timeout$/, // query_timeout elapsed (no answer at all)
  /is not queryable$/, // a client whose connection already failed
  /^Client was closed and is not queryable$/,
];

interface ErrorLike {
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  errors?: unknown;
  /** AWS SDK errors carry this: a storage network failure is not a database outage. */
  $metadata?: unknown;
}

function isUnavailableOne(err: ErrorLike): boolean {
  if (err.$metadata !== undefined) return false;
  const code = typeof err.code === 'string' ? err.code : '';
  if (SOCKET_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code)) return true;
  // Class 08: connection exceptions (08000, 08003, 08006, 08001 "cannot establish", 08004 "rejected").
  if (/^08[0-9A-Z]{3}$/.test(code)) return true;
  const message = typeof err.message === 'string' ? err.message : '';
  return DRIVER_MESSAGES.some((pattern) => pattern.test(message));
}

/**
 * True when err (or an error it wraps: `cause`, AggregateError's `errors`) says the database is away.
 * Our AppErrors never count: they were mapped on purpose.
 */
export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || err instanceof AppError || depth > 4) return false;
  const candidate = err as ErrorLike;
  if (isUnavailableOne(candidate)) return true;
  if (Array.isArray(candidate.errors) && candidate.errors.some((inner) => isDatabaseUnavailable(inner, depth + 1)))
    return true;
  return isDatabaseUnavailable(candidate.cause, depth + 1);
}

/** The error a client sees: 503 DB_UNAVAILABLE, never the driver's text. */
export function databaseUnavailable(): AppError {
  return new AppError('DB_UNAVAILABLE');
}
