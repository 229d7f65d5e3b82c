/**
 * The `storage-delete` and `storage-sweep` jobs (and `recorder storage sweep`): MaintenanceService
 * (maintenance/maintenance.service.ts) over the server's database and every configured storage.
 */
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.js';
import type { Logger } from '../logger.js';
import { DeletionsRepository } from '../maintenance/deletions.repository.js';
import {
  type DrainResult,
  MaintenanceService,
  type SweepOptions,
  type SweepReport,
} from '../maintenance/maintenance.service.js';
import { StoredRecordingsRepository } from '../maintenance/stored-recordings.repository.js';
import type { StorageRegistry } from '../storage/registry.js';
import type { Storage } from '../storage/storage.js';
import { UploadsRepository } from '../uploads/uploads.repository.js';

export type { DrainResult, SweepOptions, SweepReport };

export interface MaintenanceDeps {
  db: Kysely<DB>;
  /** The registry of every configured storage (a single Storage: that one alone). */
  storage: StorageRegistry | Storage;
  logger: Logger;
}

export function maintenanceService({ db, storage, logger }: MaintenanceDeps): MaintenanceService {
  return new MaintenanceService({
    deletions: new DeletionsRepository(db),
    recordings: new StoredRecordingsRepository(db),
    uploads: new UploadsRepository(db),
    storage,
    logger,
  });
}

export function drainDeletions(deps: MaintenanceDeps, batch?: number): Promise<DrainResult> {
  return maintenanceService(deps).drainDeletions(batch);
}

export function sweep(deps: MaintenanceDeps, opts: SweepOptions): Promise<SweepReport> {
  return maintenanceService(deps).sweep(opts);
}
