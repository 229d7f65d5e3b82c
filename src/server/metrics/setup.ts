/** The metrics of a starting server (server.ts): made only when something will serve them. */
import type { MetricsConfig } from '../config.js';
import type { Database } from '../db/database.js';
import type { Logger } from '../logger.js';
import { Metrics } from './metrics.js';
import { MetricsRepository } from './metrics.repository.js';
import { registerScrapeGauges } from './scrape-gauges.js';

export { type MetricsListener, startMetricsListener } from './metrics.routes.js';

/**
 * undefined when neither METRICS_PORT nor METRICS_TOKEN is set: nothing is measured that nobody can read,
 * and no code path depends on metrics being there.
 */
export function createMetrics(config: MetricsConfig, database: Database, logger: Logger): Metrics | undefined {
  if (config.port === undefined && config.token === undefined) return undefined;
  const metrics = new Metrics(database.pool);
  registerScrapeGauges(metrics, new MetricsRepository(database.db), logger);
  return metrics;
}
