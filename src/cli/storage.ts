import type { Config } from '../server/config.js';
import { openDatabase } from '../server/db/database.js';
import { drainDeletions, sweep } from '../server/jobs/storage-maintenance.js';
import type { Logger } from '../server/logger.js';
import { createStorageRegistry } from '../server/storage/factory.js';

const out = (s: string) => process.stdout.write(`${s}\n`);
const where = (l: { provider: string; bucket: string | null }) => (l.bucket ? `s3 bucket ${l.bucket}` : l.provider);

/** `recorder storage sweep`: the proof that storage and database agree (see jobs/storage-maintenance.ts). */
export function storageCommands(setup: () => { config: Config; logger: Logger }) {
  return {
    sweep: async (o: { dryRun?: boolean; graceMinutes?: number }) => {
      const { config, logger } = setup();
      const database = await openDatabase(config, logger, 2);
      try {
        // every configured storage: local always, s3 when S3_BUCKET is set
        const deps = { db: database.db, storage: createStorageRegistry(config, logger), logger };
        if (!o.dryRun) {
          const d = await drainDeletions(deps);
          out(`deletion outbox: ${d.deleted} entr${d.deleted === 1 ? 'y' : 'ies'} done, ${d.failed} failed`);
          for (const u of d.unconfigured ?? [])
            out(`  ${u.entries} entr${u.entries === 1 ? 'y' : 'ies'} left for ${where(u)}: no settings for it here`);
        }
        const r = await sweep(deps, { dryRun: Boolean(o.dryRun), graceMs: (o.graceMinutes ?? 60) * 60_000 });
        for (const part of r.storages ?? []) out(`  ${where(part)}: ${part.scanned} object(s) under users/`);
        out(`scanned ${r.scanned} object(s) under users/`);
        for (const k of r.orphans) out(`  orphan: ${k}${o.dryRun ? '' : ' (deleted)'}`);
        for (const m of r.missing) out(`  missing: recording ${m.recordingId} has no object at ${m.key}`);
        const deleted = o.dryRun ? ' (dry run: nothing deleted)' : `, ${r.deleted} deleted`;
        out(`${r.orphans.length} orphan(s)${deleted}; ${r.missing.length} recording(s) missing media`);
        if (r.missing.length) process.exitCode = 1;
      } finally {
        await database.close();
      }
    },
  };
}
