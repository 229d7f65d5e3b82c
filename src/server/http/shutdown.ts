/**
 * Stopping HTTP without waiting on clients. Fastify's close() stops accepting and ends idle keep-alive
 * connections, then waits for every request in flight: a player paused on a media stream (its socket
 * full, nothing read) or a tus PATCH whose client stalled would hold a stop for as long as the client
 * likes. After the grace, the connections left are closed: a cut PATCH keeps the bytes it committed and
 * the client resumes at that offset; a player asks again with a Range.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../logger.js';

export async function closeHttp(app: FastifyInstance, graceMs: number, logger: Logger): Promise<void> {
  const closed = app.close();
  const timer = setTimeout(() => {
    logger.warn({ graceMs }, 'requests still in flight after the shutdown grace: closing their connections');
    app.server.closeAllConnections();
  }, graceMs);
  try {
    await closed;
  } finally {
    clearTimeout(timer);
  }
}
