/**
 * kill -9 of the process running a storage migration, at each step of a recording's move: after the
 * copy, after the verify, after the row switch (before the source's deletion). A real child process
 * (test/support/storage-migrate-child.ts) SIGKILLs itself there. Right after the kill no row points at
 * a missing object; a rerun finishes; every recording reads back with its row's size and sha256 from
 * the target; the counts add up; once the outbox is drained no object is left that no row owns.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainDeletions, sweep } from '../src/server/jobs/storage-maintenance.js';
import { createLogger } from '../src/server/logger.js';
import { CRASH_POINTS, type CrashPoint } from '../src/server/storage-migration/mover.js';
import { pgTargets } from './support/db.js';
import { startS3rver, type S3rverHandle } from './support/s3rver.js';
import { migrationRig, runToEnd } from './support/storage-migrate.js';

const ROOT = path.resolve(import.meta.dirname, '..');

let s3rver: S3rverHandle;
beforeAll(async () => {
  s3rver = await startS3rver('recorder-migrate-crash');
});
afterAll(async () => {
  await s3rver?.stop();
});

/** Runs the child until it exits; resolves with the signal that ended it (null: it exited by itself). */
function runChild(crashAt: CrashPoint, args: object): Promise<NodeJS.Signals | null> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'test/support/storage-migrate-child.ts'), JSON.stringify(args)],
    { cwd: ROOT, env: { ...process.env, STORAGE_MIGRATE_CRASH_AT: crashAt }, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (_code, signal) => resolve(signal));
  });
}

describe.each(pgTargets().slice(0, 1))('storage migration killed mid-move, on $name', (target) => {
  it.each(CRASH_POINTS)('kill -9 %s: a rerun finishes, nothing lost, nothing left behind', async (crashAt) => {
    const rig = await migrationRig(target, s3rver);
    try {
      const seeded = await rig.seed([90_000, 20_000]);
      const service = rig.service();
      const run = await service.start({ to: 's3', concurrency: 1, startedBy: 'cli' });
      const { endpoint, bucket, accessKeyId, secretAccessKey } = s3rver;
      const s3 = { endpoint, bucket, accessKeyId, secretAccessKey };
      const mediaDir = path.join(rig.dataDir, 'media');
      expect(await runChild(crashAt, { dbUrl: rig.dbUrl, mediaDir, s3, migrationId: run.id })).toBe('SIGKILL');

      // Right after the kill: every row points at an object with its size and sha256.
      expect((await rig.verifier().verify()).problems).toEqual([]);
      const switched = crashAt === 'after-switch' ? 1 : 0;
      expect((await service.find(run.id)).moved_count).toBe(String(switched));

      expect(await runToEnd(service, run.id)).toBe('done');
      const done = await service.describe(run.id);
      expect(done.counts).toEqual({ total: 2, moved: 2, skipped: 0, failed: 0 });
      expect(done.bytes).toEqual({ total: 110_000, moved: 110_000 });
      const rows = await rig.db.selectFrom('recordings').select(['id', 'storage_provider']).orderBy('id').execute();
      expect(rows).toEqual(seeded.map((r) => ({ id: r.id, storage_provider: 's3' })));
      expect((await rig.verifier().verify()).problems).toEqual([]);

      // The grace is over (0 here): the outbox deletes the sources; then no storage holds an orphan.
      const deps = { db: rig.db, storage: rig.storages, logger: createLogger('silent') };
      await drainDeletions(deps);
      for (const r of seeded) expect(await rig.local.exists(r.key)).toBe(false);
      const report = await sweep(deps, { dryRun: true, graceMs: 0 });
      // (the bucket is shared by this file's tests, each with its own user and database)
      expect(report.orphans.filter((key) => key.startsWith(`users/${rig.userId}/`))).toEqual([]);
      expect(report.missing).toEqual([]);
    } finally {
      await rig.close();
    }
  });
});
