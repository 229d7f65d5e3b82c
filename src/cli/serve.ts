import type { Config } from '../server/config.js';
import { createLogger } from '../server/logger.js';
import { startServer } from '../server/server.js';

export async function serve(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel);
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
