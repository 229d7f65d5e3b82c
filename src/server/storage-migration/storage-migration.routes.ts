/**
 * The admin API of storage migrations: list with progress, start (or a dry run), pause, resume,
 * cancel. Only an administrator (access.ts 'instance.admin'); anyone else gets 404, as for no route.
 */
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { adminRelations, authorize } from '../access/access.js';
import type { AccessRepository } from '../access/access.repository.js';
import { requireUser } from '../auth/auth.plugin.js';
import {
  actionParams,
  dryRunResult,
  migration,
  migrationList,
  migrationParams,
  migrationWithFailures,
  startBody,
} from './storage-migration.schemas.js';
import { presentMigration, type StorageMigrationService } from './storage-migration.service.js';

export interface StorageMigrationRoutesOptions {
  migrations: StorageMigrationService;
  access: AccessRepository;
  adminEmails: readonly string[];
}

export async function storageMigrationRoutes(root: FastifyInstance, opts: StorageMigrationRoutesOptions) {
  const app = root.withTypeProvider<JsonSchemaToTsProvider>();
  const m = opts.migrations;
  const tags = ['admin'];
  const requireAdmin = async (req: FastifyRequest) => {
    const { user } = requireUser(req);
    const isFirstAccount = await opts.access.isFirstAccount(user.id);
    authorize('instance.admin', adminRelations({ email: user.email, isFirstAccount }, opts.adminEmails));
    return user.id;
  };
  app.addHook('preHandler', async (req) => void (await requireAdmin(req)));

  app.get(
    '/api/admin/storage-migrations',
    { schema: { tags, summary: 'Storage migrations, newest first, with progress', response: { 200: migrationList } } },
    async () => ({ items: (await m.list()).map(presentMigration) }),
  );
  app.get(
    '/api/admin/storage-migrations/:id',
    {
      schema: {
        tags,
        summary: 'One storage migration, with the recordings it left on their source and why',
        params: migrationParams,
        response: { 200: migrationWithFailures },
      },
    },
    async (req) => m.describe(req.params.id),
  );
  app.post(
    '/api/admin/storage-migrations',
    {
      schema: {
        tags,
        summary: 'Start moving recordings to a storage (dryRun: counts and bytes only)',
        body: startBody,
        response: { 201: migration, 200: dryRunResult },
      },
    },
    async (req, reply) => {
      const userId = requireUser(req).user.id;
      const { to, filters = {}, batch, concurrency, maxMibPerS, dryRun } = req.body;
      if (dryRun) {
        const { target, count, bytes } = await m.dryRun(to, filters);
        return reply
          .status(200)
          .send({ dryRun: true, target: { provider: target.provider, bucket: target.bucket }, count, bytes });
      }
      const run = await m.start({ to, filters, batchSize: batch, concurrency, maxMibPerS, startedBy: userId });
      return reply.status(201).send(presentMigration(run));
    },
  );
  app.post(
    '/api/admin/storage-migrations/:id/:action',
    {
      schema: {
        tags,
        summary: 'Pause, resume or cancel a migration',
        params: actionParams,
        response: { 200: migration },
      },
    },
    async (req) => presentMigration(await m[req.params.action](req.params.id)),
  );
}
