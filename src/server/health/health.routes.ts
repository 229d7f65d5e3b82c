import type { FastifyInstance } from 'fastify';
import { DB_RETRY_AFTER_SECONDS } from '../db/outage.js';
import { AppError } from '../errors.js';

export interface ReadinessProbe {
  /** Resolves with the number of pending migrations; rejects when the database does not answer. */
  pendingMigrations(): Promise<number>;
}

const statusSchema = {
  type: 'object',
  properties: { status: { type: 'string' }, pendingMigrations: { type: 'integer' } },
  required: ['status'],
} as const;

export async function healthRoutes(app: FastifyInstance, opts: { probe: ReadinessProbe }): Promise<void> {
  app.get(
    '/health',
    { schema: { summary: 'Liveness: the process answers', response: { 200: statusSchema } } },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/ready',
    { schema: { summary: 'Readiness: database answers and no migration is pending', response: { 200: statusSchema } } },
    async (_req, reply) => {
      let pending: number;
      try {
        pending = await opts.probe.pendingMigrations();
      } catch {
        // An outage: load balancers take this server out and try again; it heals by itself (db/outage.ts).
        reply.header('Retry-After', String(DB_RETRY_AFTER_SECONDS));
        throw new AppError('NOT_READY', 'The database does not answer');
      }
      if (pending > 0)
        throw new AppError('NOT_READY', `${pending} migration(s) pending: run "recorder migrate up"`, {
          pendingMigrations: pending,
        });
      return { status: 'ready', pendingMigrations: 0 };
    },
  );
}
