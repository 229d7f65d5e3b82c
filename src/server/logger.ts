import pino from 'pino';
import type { LogLevel } from './config.js';

export type Logger = pino.Logger;

/** Structured JSON logs; credentials in URLs and auth headers are redacted wherever they appear. */
export function createLogger(level: LogLevel = 'info', destination?: pino.DestinationStream): Logger {
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
    destination ?? pino.destination(2),
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
