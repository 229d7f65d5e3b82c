/** The full backup `migrate up` takes first (CLI and migrate-on-start alike), wired from the configuration. */
import type { Config } from '../../config.js';
import type { Logger } from '../../logger.js';
import { createStorageRegistry } from '../../storage/factory.js';
import type { BackupReason } from '../migrator/pre-backup.js';
import type { Progress } from './manifest.js';
import { defaultBackupDir, writeFullBackup } from './write.js';

/**
 * The database in full, and the media as a list of keys and sizes from the rows: a migration changes rows,
 * never media, and reading a whole media store would hold the release (and a starting server) for hours.
 * `recorder backup` reads and hashes the media.
 */
export function migrationBackup(config: Config, url: string, logger: Logger, progress?: Progress) {
  return async (reason: BackupReason): Promise<string> => {
    const { dir, manifest } = await writeFullBackup({
      url,
      storage: createStorageRegistry(config, logger),
      dir: defaultBackupDir(config.dataDir, reason.slug),
      reason: `migrate up: ${reason.text}`,
      hashMedia: false,
      progress,
    });
    logger.info({ path: dir, form: manifest.database.form }, 'full backup before migrating written');
    return dir;
  };
}
