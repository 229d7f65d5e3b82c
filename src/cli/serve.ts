import { LOG_LEVELS, type Config, type LogLevel } from '../server/config.js';
import { createLogger, type Logger } from '../server/logger.js';
import { startServer } from '../server/server.js';
import { ensureWebBuild } from '../server/web/build.js';

/**
 * Builds the web app when dist/web is missing or stale. A failed build does not keep the API down:
 * the server starts and serves the previous build (or a 503 page saying how to build) and the
 * error is logged with Vite's message.
 */
async function buildWebApp(logger: Logger): Promise<void> {
  try {
    await ensureWebBuild({ logger });
  } catch (err) {
    logger.error(
      { err },
      'building the web app failed; serving the previous build if there is one ' +
        '(fix the error, then `npm run build:web`)',
    );
  }
}

export async function serve(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel, undefined, config.logFormat);
  await buildWebApp(logger);
  const server = await startServer(config, logger);
  logger.info({ address: server.url }, 'Recorder is listening');
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    server.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

/** `recorder build-web [--force]`: what `npm run build:web` runs; exits 1 when the build fails. */
export async function buildWeb(opts: { force?: boolean }): Promise<void> {
  const level = process.env.LOG_LEVEL as LogLevel | undefined;
  const logger = createLogger(level && LOG_LEVELS.includes(level) ? level : 'info');
  const result = await ensureWebBuild({ logger, force: opts.force ?? false });
  if (!result.built) logger.info({ outDir: result.outDir }, 'web app is up to date (use --force to build anyway)');
}
