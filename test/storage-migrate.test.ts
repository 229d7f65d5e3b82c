/**
 * Moving recordings between storages (issue 10, items 2, 3 and 5), with a real PostgreSQL, a real local
 * storage and a real S3 server (s3rver): local -> s3 -> local gives the same bytes; a dry run changes
 * nothing; a source whose bytes no longer match its sha256 is reported and left while the rest moves;
 * recordings deleted, renamed and re-processed during a run are never overwritten; an unreachable S3
 * fails the batch with a clear reason and the job resumes when it is back; `storage verify` finds what is
 * wrong. The kill -9 cases: storage-migrate.crash.test.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { adminRelations } from '../src/server/access/access.js';
import { startBoss, type Boss } from '../src/server/jobs/boss.js';
import { startStorageMigrateWorker, storageMigrationService } from '../src/server/jobs/storage-migrate.js';
import { createLogger } from '../src/server/logger.js';
import { DeletionsRepository } from '../src/server/maintenance/deletions.repository.js';
import { versionKey, versionThumbnailKey } from '../src/server/storage/keys.js';
import type { PutOptions, PutResult, Storage } from '../src/server/storage/storage.js';
import { signUp, startTestServer } from './support/app.js';
import { pgTargets } from './support/db.js';
import { startS3rver, type S3rverHandle } from './support/s3rver.js';
import { addUser, bytesOf, type MigrationRig, migrationRig, runToEnd, TwoStorages } from './support/storage-migrate.js';

let s3rver: S3rverHandle;
beforeAll(async () => {
  s3rver = await startS3rver('recorder-migrate');
});
afterAll(async () => {
  await s3rver?.stop();
});

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function keysOn(storage: Storage, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of storage.list(prefix)) keys.push(o.key);
  return keys.sort();
}

describe.each(pgTargets())('storage migration on $name', (target) => {
  let rig: MigrationRig;
  beforeEach(async () => {
    rig = await migrationRig(target, s3rver);
    return () => rig.close();
  });

  it('moves local -> s3 -> local with byte-identical files; counts add up; sources wait out the grace', async () => {
    const seeded = await rig.seed([150_000, 70_000, 1_000, 300_000]);
    const originals = await Promise.all(seeded.map((r) => bytesOf(rig.local, r.key)));
    const service = rig.service({ graceMs: 3_600_000 });

    const toS3 = await service.start({ to: 's3', batchSize: 3, concurrency: 2, startedBy: 'cli' });
    expect(await runToEnd(service, toS3.id)).toBe('done');
    const run = await service.find(toS3.id);
    expect(run).toMatchObject({ status: 'finished', total_count: '4', moved_count: '4', failed_count: '0' });
    expect(Number(run.moved_bytes)).toBe(521_000);
    const rows = await rig.db.selectFrom('recordings').select(['storage_provider', 'storage_bucket']).execute();
    expect(rows.every((r) => r.storage_provider === 's3' && r.storage_bucket === rig.s3.bucket)).toBe(true);
    for (const [i, r] of seeded.entries()) expect(sha(await bytesOf(rig.s3, r.key))).toBe(sha(originals[i]!));
    expect((await rig.verifier().verify()).problems).toEqual([]);

    // The sources are queued for deletion but not yet due: a player mid-stream keeps reading them.
    const outbox = await rig.db.selectFrom('storage_deletions').selectAll().execute();
    expect(outbox.map((e) => e.storage_key).sort()).toEqual(seeded.flatMap((r) => [r.key, r.thumbnail]).sort());
    expect(outbox.every((e) => e.storage_provider === 'local' && e.not_before! > new Date())).toBe(true);
    const deletions = new DeletionsRepository(rig.db);
    const due = await deletions.withClaimedPage(
      { provider: 'local', bucket: null },
      { afterId: '0', limit: 100 },
      (p) => Promise.resolve(p.entries.length),
    );
    expect(due).toBe(0);
    expect(await rig.local.exists(seeded[0]!.key)).toBe(true);

    // Back before the grace is over: the copy puts the local objects back, so their deletions are withdrawn.
    const toLocal = await service.start({ to: 'local', startedBy: 'cli' });
    expect(await runToEnd(service, toLocal.id)).toBe('done');
    expect(await service.find(toLocal.id)).toMatchObject({ moved_count: '4', failed_count: '0' });
    for (const [i, r] of seeded.entries()) expect((await bytesOf(rig.local, r.key)).equals(originals[i]!)).toBe(true);
    const left = await rig.db.selectFrom('storage_deletions').select(['storage_provider', 'storage_key']).execute();
    expect(left.every((e) => e.storage_provider === 's3')).toBe(true);
    expect(left).toHaveLength(8);
    expect((await rig.verifier().verify()).problems).toEqual([]);
  });

  it('a recording moves with its ready versions, each checked by its sha256; a damaged one keeps it home', async () => {
    const [kept, damaged] = await rig.seed([20_000, 10_000]);
    const version = async (recordingId: string, id: string, bytes: Buffer, rowSha = sha(bytes)) => {
      const key = versionKey(rig.userId, recordingId, id, 'webm');
      await rig.local.put(key, Readable.from([bytes]));
      await rig.db
        .insertInto('recording_versions')
        .values({
          id,
          recording_id: recordingId,
          number: Number(id),
          status: 'ready',
          edit_revision: 1,
          edits: '{}',
          storage_provider: 'local',
          storage_key: key,
          file_size: bytes.length,
          sha256: rowSha,
          duration_ms: 1000,
          mime_type: 'video/webm',
          completed_at: new Date(),
        })
        .execute();
      return key;
    };
    const versionBytes = randomBytes(5_000);
    const versionKeyMoved = await version(kept!.id, '1', versionBytes);
    const versionThumbnail = versionThumbnailKey(rig.userId, kept!.id, '1');
    await rig.local.put(versionThumbnail, Readable.from([randomBytes(500)]));
    await rig.db
      .updateTable('recording_versions')
      .set({ thumbnail_key: versionThumbnail })
      .where('id', '=', '1')
      .execute();
    await version(damaged!.id, '2', randomBytes(3_000), 'f'.repeat(64));
    const service = rig.service({ graceMs: 3_600_000 });
    const run = await service.start({ to: 's3', startedBy: 'cli' });
    expect(await runToEnd(service, run.id)).toBe('done');
    expect((await service.describe(run.id)).counts).toEqual({ total: 2, moved: 1, skipped: 0, failed: 1 });
    expect((await service.describe(run.id)).failures[0]!.reason).toContain('versions/2.webm');

    const rows = await rig.db.selectFrom('recording_versions').select(['id', 'storage_provider', 'storage_bucket']);
    expect(await rows.orderBy('id').execute()).toEqual([
      { id: '1', storage_provider: 's3', storage_bucket: rig.s3.bucket },
      { id: '2', storage_provider: 'local', storage_bucket: null },
    ]);
    expect(sha(await bytesOf(rig.s3, versionKeyMoved))).toBe(sha(versionBytes));
    expect(await rig.s3.exists(versionThumbnail)).toBe(true);
    const outbox = await rig.db.selectFrom('storage_deletions').select('storage_key').execute();
    expect(outbox.map((e) => e.storage_key).sort()).toEqual(
      [kept!.key, kept!.thumbnail, versionKeyMoved, versionThumbnail].sort(),
    );
    expect(await keysOn(rig.s3, `users/${rig.userId}/recordings/${damaged!.id}/`)).toEqual([]);
    // verify checks versions too: the moved one is whole at its new home, the damaged one is named
    const report = await rig.verifier().verify();
    expect(report.problems).toEqual([
      {
        recordingId: damaged!.id,
        key: versionKey(rig.userId, damaged!.id, '2', 'webm'),
        problem: expect.stringMatching(/^version 2: sha256 [0-9a-f]{64}, its row says f{64}$/),
      },
    ]);
  });

  it('a dry run counts recordings and bytes and changes nothing', async () => {
    await rig.seed([10_000, 20_000, 30_000]);
    const other = await rig.seed([5_000], await addUser(rig.db));
    const before = await rig.db.selectFrom('recordings').selectAll().orderBy('id').execute();
    const service = rig.service();
    expect(await service.dryRun('s3')).toMatchObject({ count: 4, bytes: 65_000 });
    expect(await service.dryRun('s3', { userId: rig.userId })).toMatchObject({ count: 3, bytes: 60_000 });
    expect(await service.dryRun('s3', { createdBefore: '2000-01-01T00:00:00Z' })).toMatchObject({ count: 0 });
    expect(await service.dryRun('local')).toMatchObject({ count: 0, bytes: 0 });
    expect(await rig.db.selectFrom('recordings').selectAll().orderBy('id').execute()).toEqual(before);
    expect(await rig.db.selectFrom('storage_migrations').selectAll().execute()).toEqual([]);
    expect(await rig.db.selectFrom('storage_deletions').selectAll().execute()).toEqual([]);
    expect(await keysOn(rig.s3, `users/${rig.userId}/`)).toEqual([]);
    expect(other).toHaveLength(1);
  });

  it('reports a source whose bytes no longer match its sha256, leaves it in place, and moves the rest', async () => {
    const seeded = await rig.seed([40_000, 80_000, 20_000]);
    const bad = seeded[1]!;
    // Same size, other bytes: bit rot, or a file replaced behind the database's back.
    await rig.local.put(bad.key, Readable.from([randomBytes(bad.size)]));
    const service = rig.service();
    const run = await service.start({ to: 's3', batchSize: 2, startedBy: 'cli' });
    expect(await runToEnd(service, run.id)).toBe('done');
    const described = await service.describe(run.id);
    expect(described.counts).toEqual({ total: 3, moved: 2, skipped: 0, failed: 1 });
    expect(described.failures).toEqual([
      expect.objectContaining({ recordingId: bad.id, reason: expect.stringMatching(/sha256 .* does not match/) }),
    ]);
    const row = await rig.db.selectFrom('recordings').selectAll().where('id', '=', bad.id).executeTakeFirstOrThrow();
    expect(row.storage_provider).toBe('local');
    expect(await rig.local.exists(bad.key)).toBe(true);
    expect(await rig.s3.exists(bad.key)).toBe(false);
    // verify finds the same recording, and only it
    const report = await rig.verifier().verify();
    expect(report.problems).toEqual([
      expect.objectContaining({ recordingId: bad.id, problem: expect.stringMatching(/sha256/) }),
    ]);
    expect(report.checked).toBe(3);
  });

  it('never overwrites a recording deleted, renamed or re-processed during the run; a new one moves too', async () => {
    const [deleted, renamed, reprocessed] = await rig.seed([30_000, 30_000, 30_000]);
    const newBytes = randomBytes(45_000);
    // The target's put is where each change lands: after the copy started, before the row switch.
    const hooks = new Map<string, () => Promise<void>>([
      [
        deleted!.key,
        () =>
          rig.db
            .deleteFrom('recordings')
            .where('id', '=', deleted!.id)
            .execute()
            .then(() => undefined),
      ],
      [
        renamed!.key,
        async () => {
          await rig.db.updateTable('recordings').set({ title: 'renamed' }).where('id', '=', renamed!.id).execute();
        },
      ],
      [
        reprocessed!.key,
        async () => {
          await rig.local.put(reprocessed!.key, Readable.from([newBytes]));
          const metadata = JSON.stringify({ sha256: sha(newBytes), thumbnail_key: reprocessed!.thumbnail });
          await rig.db
            .updateTable('recordings')
            .set({ file_size: newBytes.length, metadata })
            .where('id', '=', reprocessed!.id)
            .execute();
        },
      ],
    ]);
    const storages = new TwoStorages(rig.local, hookedPut(rig.s3, hooks));
    const service = rig.service({ storages });
    const run = await service.start({ to: 's3', startedBy: 'cli' });
    const [late] = await rig.seed([12_000]);
    expect(await runToEnd(service, run.id)).toBe('done');

    const rows = await rig.db.selectFrom('recordings').selectAll().orderBy('id').execute();
    expect(rows.map((r) => [r.id, r.title, r.storage_provider])).toEqual([
      [renamed!.id, 'renamed', 's3'],
      [reprocessed!.id, 'take 3', 's3'],
      [late!.id, 'take 1', 's3'],
    ]);
    expect(sha(await bytesOf(rig.s3, reprocessed!.key))).toBe(sha(newBytes));
    // The deleted recording's copy was removed again: no object without a row.
    expect(await keysOn(rig.s3, `users/${rig.userId}/recordings/${deleted!.id}/`)).toEqual([]);
    const done = await service.describe(run.id);
    expect(done.counts.moved + done.counts.skipped + done.counts.failed).toBe(4);
    expect(done.counts).toMatchObject({ moved: 3, failed: 0, skipped: 1 });
    expect((await rig.verifier().verify()).problems).toEqual([]);
  });
});

describe.each(pgTargets().slice(0, 1))('storage migration jobs and admin rules, on $name', (target) => {
  let rig: MigrationRig;
  let boss: Boss | undefined;
  let s3rverPaused = false;
  beforeEach(async () => {
    rig = await migrationRig(target, s3rver);
    return async () => {
      await boss?.stop();
      boss = undefined;
      if (s3rverPaused) await s3rver.resume();
      s3rverPaused = false;
      await rig.close();
    };
  });

  it('unreachable S3: the batch fails with a clear reason; the job backs off and resumes when it is back', async () => {
    await rig.seed([20_000, 20_000, 20_000]);
    boss = await startBoss(rig.dbUrl, createLogger('silent'));
    await startStorageMigrateWorker(boss.boss, { db: rig.db, storages: rig.storages, logger: createLogger('silent') });
    const service = storageMigrationService(
      { db: rig.db, storages: rig.storages, logger: createLogger('silent'), graceMs: 0 },
      boss.boss,
    );
    await s3rver.pause();
    s3rverPaused = true;
    const run = await service.start({ to: 's3', batchSize: 1, startedBy: 'cli' });
    const failing = await until(async () => {
      const r = await service.find(run.id);
      return r.last_error ? r : undefined;
    });
    expect(failing.status).toBe('running');
    expect(failing.last_error).toMatch(/ECONNREFUSED|connect|socket|ECONNRESET/i);
    expect(failing.moved_count).toBe('0');
    await s3rver.resume();
    s3rverPaused = false;
    const finished = await until(async () => {
      const r = await service.find(run.id);
      return r.status === 'finished' ? r : undefined;
    });
    expect(finished).toMatchObject({ moved_count: '3', failed_count: '0', last_error: null });
    expect((await rig.verifier().verify()).problems).toEqual([]);
  });

  it('pause, resume and cancel flip the status; only one run is unfinished at a time', async () => {
    await rig.seed([5_000, 5_000]);
    const service = rig.service();
    const run = await service.start({ to: 's3', batchSize: 1, startedBy: 'cli' });
    await expect(service.start({ to: 's3', startedBy: 'cli' })).rejects.toMatchObject({ code: 'MIGRATION_RUNNING' });
    expect(await service.runBatch(run.id)).toBe('more');
    expect((await service.pause()).status).toBe('paused');
    expect(await service.runBatch(run.id)).toBe('stopped');
    expect((await service.find(run.id)).moved_count).toBe('1');
    expect((await service.resume(run.id)).status).toBe('running');
    expect(await runToEnd(service, run.id)).toBe('done');
    await expect(service.cancel(run.id)).rejects.toMatchObject({ code: 'MIGRATION_STATE' });
    const next = await service.start({ to: 'local', startedBy: 'cli' });
    expect((await service.cancel()).id).toBe(next.id);
    expect(await service.runBatch(next.id)).toBe('stopped');
  });

  it('the admin API answers 404 to everyone but an administrator, and shows a run and its progress', async () => {
    const env = {
      S3_ENDPOINT: s3rver.endpoint,
      S3_BUCKET: s3rver.bucket,
      S3_ACCESS_KEY_ID: s3rver.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3rver.secretAccessKey,
    };
    const app = await startTestServer(target, env);
    try {
      const admin = await signUp(app.url, 'first');
      const other = await signUp(app.url, 'second');
      const api = (who: { headers: Record<string, string> } | undefined, method: string, url: string, body?: object) =>
        fetch(`${app.url}/api/admin/storage-migrations${url}`, {
          method,
          headers: { ...(who?.headers ?? {}), ...(body ? { 'content-type': 'application/json' } : {}) },
          body: body ? JSON.stringify(body) : undefined,
        });
      expect((await api(undefined, 'GET', '')).status).toBe(401);
      for (const [method, url] of [
        ['GET', ''],
        ['POST', ''],
        ['POST', '/1/pause'],
      ] as const) {
        const res = await api(other, method, url, method === 'POST' ? { to: 's3' } : undefined);
        expect([method, url, res.status, (await res.json()).code]).toEqual([method, url, 404, 'ROUTE_NOT_FOUND']);
      }
      const dry = await api(admin, 'POST', '', { to: 's3', dryRun: true });
      expect(await dry.json()).toMatchObject({ dryRun: true, count: 0, bytes: 0, target: { provider: 's3' } });
      const started = await api(admin, 'POST', '', { to: 's3', batch: 10 });
      expect(started.status).toBe(201);
      const { id } = await started.json();
      const finished = await until(async () => {
        const list = await (await api(admin, 'GET', '')).json();
        return list.items[0]?.status === 'finished' ? list.items[0] : undefined;
      });
      expect(finished).toMatchObject({ id, startedBy: admin.userId, counts: { total: 0, moved: 0 }, batch: 10 });
      expect((await api(admin, 'POST', `/${id}/pause`)).status).toBe(409);
      expect(await (await api(admin, 'GET', `/${id}`)).json()).toMatchObject({ id, failures: [] });
    } finally {
      await app.close();
    }
  });
});

describe('the instance administrator', () => {
  it('an administrator is the first account or one ADMIN_EMAILS lists', () => {
    expect(adminRelations({ email: 'a@example.com', isFirstAccount: true }, [])).toEqual(['admin']);
    expect(adminRelations({ email: 'Ops@Example.com', isFirstAccount: false }, ['ops@example.com'])).toEqual(['admin']);
    expect(adminRelations({ email: 'b@example.com', isFirstAccount: false }, ['ops@example.com'])).toEqual([]);
  });
});

/** The S3 storage, running a hook once just after the put of chosen keys (before the row switch). */
function hookedPut(inner: Storage, hooks: Map<string, () => Promise<void>>): Storage {
  const put = async (key: string, source: Readable | string, opts?: PutOptions): Promise<PutResult> => {
    const result = await inner.put(key, source, opts);
    const hook = hooks.get(key);
    hooks.delete(key);
    await hook?.();
    return result;
  };
  return new Proxy(inner, { get: (self, prop) => (prop === 'put' ? put : Reflect.get(self, prop, self)) });
}

/** Resolves with the first defined answer of `probe`, asked again as soon as each answer arrives. */
async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
