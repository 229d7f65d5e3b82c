import type { Config } from '../server/config.js';
import { openDatabase } from '../server/db/database.js';
import { drainDeletions, sweep } from '../server/jobs/storage-maintenance.js';
import type { Logger } from '../server/logger.js';
import { createStorage } from '../server/storage/factory.js';

const out = (s: string) => process.stdout.write(`${s}\n`);

/** `recorder storage sweep`: the proof that storage and database agree (see jobs/storage-maintenance.ts). */
export function storageCommands(setup: () => { config: Config; logger: Logger }) {
  return {
    sweep: async (o: { dryRun?: boolean; graceMinutes?: number }) => {
      const { config, logger } = setup();
      const database = await openDatabase(config, logger, 2);
      try {
        const deps = { db: database.db, storage: createStorage(config, logger), logger };
        if (!o.dryRun) {
          const d = await drainDeletions(deps);
          out(`deletion outbox: ${d.deleted} entr${d.deleted === 1 ? 'y' : 'ies'} done, ${d.failed} failed`);
        }
        const r = await sweep(deps, { dryRun: Boolean(o.dryRun), graceMs: (o.graceMinutes ?? 60) * 60_000 });
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
