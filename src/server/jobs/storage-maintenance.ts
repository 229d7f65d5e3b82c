/**
 * The `storage-delete` and `storage-sweep` jobs (and `recorder storage sweep`): MaintenanceService
 * (maintenance/maintenance.service.ts) over the server's database and storage.
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
import { RecordingsRepository } from '../recordings/recordings.repository.js';
import type { Storage } from '../storage/storage.js';
import { UploadsRepository } from '../uploads/uploads.repository.js';

export type { DrainResult, SweepOptions, SweepReport };

export interface MaintenanceDeps {
  db: Kysely<DB>;
  storage: Storage;
  logger: Logger;
}

export function maintenanceService({ db, storage, logger }: MaintenanceDeps): MaintenanceService {
  return new MaintenanceService({
    deletions: new DeletionsRepository(db),
    recordings: new RecordingsRepository(db),
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
