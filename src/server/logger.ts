import pino from 'pino';
import pretty from 'pino-pretty';
import type { LogFormat, LogLevel } from './config.js';

export type Logger = pino.Logger;

/**
 * pino-pretty as a stream in this thread, not a worker transport: lines stay in order with a crash's last
 * words, and no worker thread outlives a stopped server. Same fd as the JSON lines.
 */
function prettyStream(): pino.DestinationStream {
  return pretty({ destination: 2, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
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
    destination ?? (format === 'pretty' ? prettyStream() : pino.destination(2)),
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
