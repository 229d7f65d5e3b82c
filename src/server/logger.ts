import pino from 'pino';
import pretty from 'pino-pretty';
import type { LogFormat, LogLevel } from './config.js';

export type Logger = pino.Logger;

/**
 * pino-pretty as a stream in this thread, not a worker transport: lines stay in order with a crash's last
 * words, and no worker thread outlives a stopped server. Same fd as the JSON lines.
 */
function prettyStream(destination: pino.DestinationStream | undefined): pino.DestinationStream {
  const colorize = destination === undefined && Boolean(process.stderr.isTTY);
  const options = { colorize, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' };
  // sync to the terminal: a crash's last line is written before the process ends, not lost in a buffer
  return pretty({ ...options, destination: destination ?? 2, sync: destination === undefined });
}

/**
 * Structured logs, JSON or (LOG_FORMAT=pretty) readable lines; credentials in URLs and auth headers are
 * redacted wherever they appear. Lines about a take carry its sessionId, uploadId and recordingId
 * (docs/monitoring.md, "Follow one take").
 */
export function createLogger(
  level: LogLevel = 'info',
  destination?: pino.DestinationStream,
  format: LogFormat = 'json',
): Logger {
  return pino(
    {
      level,
      redact: {
        paths: [
          'databaseUrl',
          'url',
          'password',
          'secretAccessKey',
          '*.secretAccessKey',
          'storage.secretAccessKey',
          'req.headers.authorization',
          'req.headers.cookie',
        ],
        censor: '[redacted]',
      },
    },
    format === 'pretty' ? prettyStream(destination) : (destination ?? pino.destination(2)),
  );
}

/** Removes the password from a connection string so it can be printed. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable url)';
  }
}

/** The ids that follow one take through the logs (docs/monitoring.md, "Follow one take"). */
export interface TakeIds {
  sessionId?: string;
  uploadId?: string;
  recordingId?: string;
}

/** A recording's take ids: its own, and the session and upload it came from (set at the upload's finish). */
export function takeIdsOf(recording: { id: string; metadata: unknown }): TakeIds {
  const meta = (recording.metadata ?? {}) as { session_id?: unknown; upload_id?: unknown };
  return {
    ...(typeof meta.session_id === 'string' ? { sessionId: meta.session_id } : {}),
    ...(typeof meta.upload_id === 'string' ? { uploadId: meta.upload_id } : {}),
    recordingId: recording.id,
  };
}
