/**
 * The upload store on each provider (local, and s3 on s3rver): bytes go straight to the recording's
 * storage with their state in PostgreSQL, and every way an upload can be cut short keeps the take whole.
 * Runs on one PostgreSQL (the behaviour does not depend on its version). Jobs are off: these tests look
 * at the stored object itself, not at processing.
 */
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { Readable } from 'node:stream';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { sweep } from '../src/server/jobs/storage-maintenance.js';
import { createLogger } from '../src/server/logger.js';
import type { LocalStorage } from '../src/server/storage/local.js';
import { S3Storage } from '../src/server/storage/s3.js';
import { createSinks } from '../src/server/uploads/sinks.js';
import type { UploadLeaseLocker } from '../src/server/uploads/upload-lease.js';
import { RecordingUploadStore } from '../src/server/uploads/upload-store.js';
import { type Progress, UploadsRepository } from '../src/server/uploads/uploads.repository.js';
import { signUp, startTestServer, type TestServer } from './support/app.js';
import { pgTargets } from './support/db.js';
import { startS3rver, type S3rverHandle } from './support/s3rver.js';
import { createUpload, deleteUpload, fakeWebm, headUpload, patchUpload } from './support/tus-http.js';

const MiB = 1024 * 1024;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const target = pgTargets()[0]!;

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe.each(['local', 's3'] as const)('the upload store on %s', (provider) => {
  let s3: S3rverHandle | undefined;
  let t: TestServer;
  let auth: Record<string, string>;
  let repo: UploadsRepository;

  beforeAll(async () => {
    s3 = provider === 's3' ? await startS3rver() : undefined;
    const env: Record<string, string> = { JOBS_ENABLED: 'false' };
    if (s3) {
      Object.assign(env, {
        STORAGE_PROVIDER: 's3',
        S3_ENDPOINT: s3.endpoint,
        S3_BUCKET: s3.bucket,
        S3_ACCESS_KEY_ID: s3.accessKeyId,
        S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      });
    }
    t = await startTestServer(target, env);
    auth = (await signUp(t.url, 'uploader')).headers;
    repo = new UploadsRepository(t.server.database.db);
  });
  afterAll(async () => {
    await t?.close();
    await s3?.stop();
  });

  const uploadIdOf = (location: string) => location.split('/').pop()!;
  const localUploadFile = (id: string) => (t.server.storage as LocalStorage).uploadPath(id);
  const stored = async (recordingId: string) => {
    const row = await t.server.database.db
      .selectFrom('recordings')
      .selectAll()
      .where('id', '=', recordingId)
      .executeTakeFirstOrThrow();
    const object = await t.server.storage.get(row.storage_key!);
    return { row, bytes: await readAll(object.body) };
  };
  const recordingCount = async () =>
    Number(
      (
        await t.server.database.db
          .selectFrom('recordings')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  it('takes a 1-byte first PATCH (a recorder slice): the type is judged once 64 bytes are in', async () => {
    const take = fakeWebm(300_000);
    const up = await createUpload(t.url, auth, { recordingType: 'camera', title: 'one byte first' });
    expect(up.status).toBe(201);
    expect((await patchUpload(up.location, auth, 0, take.subarray(0, 1))).status).toBe(204);
    expect((await repo.get(uploadIdOf(up.location)))?.media_type).toBeNull();
    expect((await patchUpload(up.location, auth, 1, take.subarray(1, 10_000))).status).toBe(204);
    expect((await repo.get(uploadIdOf(up.location)))?.media_type).toBe('video/webm');
    const last = await patchUpload(up.location, auth, 10_000, take.subarray(10_000), {
      'Upload-Length': String(take.length),
    });
    expect(last.status).toBe(204);
    const recordingId = last.headers.get('recording-id')!;
    const { row, bytes } = await stored(recordingId);
    expect(sha256(bytes)).toBe(sha256(take));
    expect(row.metadata).toMatchObject({ upload_sha256: sha256(take), upload_size: take.length });
  });

  it('a long request after a short one commits on the way; a resume from there gives the exact sha256', async () => {
    const take = fakeWebm(80 * MiB, 29);
    const up = await createUpload(t.url, auth, { recordingType: 'screen' }, { length: take.length });
    const id = uploadIdOf(up.location);
    expect((await patchUpload(up.location, auth, 0, take.subarray(0, 1))).status).toBe(204);
    // The process dies after the commits made on the way, before the last one.
    let commits = 0;
    const dying = Object.create(repo) as UploadsRepository;
    dying.commit = async (uploadId: string, token: string, progress: Progress) => {
      if (progress.to === take.length) throw new Error('simulated crash before the last commit');
      commits++;
      await repo.commit(uploadId, token, progress);
    };
    const token = randomUUID();
    expect(await repo.tryLease(id, token, 60_000)).toBe(true);
    const locker = { tokenOf: () => token } as unknown as UploadLeaseLocker;
    const store = new RecordingUploadStore(dying, locker, createSinks(t.server.storage, dying), new Map(), log);
    await expect(store.write(Readable.from([take.subarray(1)]), id, 1)).rejects.toBeTruthy();
    await repo.releaseLease(id, token);
    expect(commits).toBeGreaterThan(0);
    const offset = Number((await headUpload(up.location, auth)).headers.get('upload-offset'));
    expect(offset).toBeGreaterThan(1);
    const last = await patchUpload(up.location, auth, offset, take.subarray(offset));
    expect(last.status).toBe(204);
    const { row, bytes } = await stored(last.headers.get('recording-id')!);
    expect(sha256(bytes)).toBe(sha256(take));
    expect(row.metadata).toMatchObject({ upload_sha256: sha256(take), upload_size: take.length });
  });

  it('refuses bytes that are not media with 415 and a code, once judged, and for good; nothing is kept', async () => {
    const text = Buffer.from('%PDF-1.7 this is a document, not a recording of anything at all. '.repeat(4));
    const up = await createUpload(t.url, auth, { recordingType: 'screen' });
    expect((await patchUpload(up.location, auth, 0, text.subarray(0, 1))).status).toBe(204);
    const refused = await patchUpload(up.location, auth, 1, text.subarray(1));
    expect(refused.status).toBe(415);
    expect(refused.body).toMatchObject({
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: expect.stringContaining('detected'),
    });
    expect((await patchUpload(up.location, auth, 1, text.subarray(1))).status).toBe(415);
    expect((await headUpload(up.location, auth)).status).toBe(415);
    const row = await repo.get(uploadIdOf(up.location));
    expect(row).toMatchObject({ status: 'failed', error: expect.stringContaining('not accepted') });
    expect(await repo.chunks(row!.id)).toEqual([]);
  });

  it('creation-with-upload answers 201 with the Recording-Id; the same POST again: the same recording', async () => {
    const take = fakeWebm(200_000, 7);
    const session = await fetch(`${t.url}/api/sessions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ recordingType: 'screen' }),
    }).then((r) => r.json() as Promise<{ id: string }>);
    const meta = { recordingType: 'screen', sessionId: session.id, title: 'whole file in the POST' };
    const before = await recordingCount();
    const first = await createUpload(t.url, auth, meta, { length: take.length, bytes: take });
    expect(first.status).toBe(201);
    const recordingId = first.headers.get('recording-id');
    expect(recordingId).toMatch(/^\d+$/);
    const again = await createUpload(t.url, auth, meta, { length: take.length, bytes: take });
    expect(again.status).toBe(201);
    expect(again.headers.get('recording-id')).toBe(recordingId);
    expect(await recordingCount()).toBe(before + 1);
    expect(sha256((await stored(recordingId!)).bytes)).toBe(sha256(take));
  });

  it('the live path: deferred length, small slices across the part size, byte-identical', async () => {
    const take = fakeWebm(6 * MiB + 12_345, 3);
    const up = await createUpload(t.url, auth, { recordingType: 'camera' });
    const slice = 96 * 1024;
    for (let offset = 0; offset < take.length; offset += slice) {
      const end = Math.min(offset + slice, take.length);
      const extra: Record<string, string> = end === take.length ? { 'Upload-Length': String(take.length) } : {};
      const res = await patchUpload(up.location, auth, offset, take.subarray(offset, end), extra);
      expect(res.status).toBe(204);
      if (end === take.length) {
        const { bytes } = await stored(res.headers.get('recording-id')!);
        expect(sha256(bytes)).toBe(sha256(take));
      }
    }
    const id = uploadIdOf(up.location);
    expect(await repo.parts(id)).toEqual([]); // progress rows go once the recording exists
    expect(await repo.chunks(id)).toEqual([]);
  });

  it('two PATCHes at the same offset at once: one 204, the other 409, the bytes intact', async () => {
    const take = fakeWebm(2 * MiB, 11);
    const up = await createUpload(t.url, auth, { recordingType: 'camera' }, { length: take.length });
    const half = take.subarray(0, MiB);
    const answers = await Promise.all([
      patchUpload(up.location, auth, 0, half),
      patchUpload(up.location, auth, 0, half),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([204, 409]);
    const done = await patchUpload(up.location, auth, MiB, take.subarray(MiB));
    expect(done.status).toBe(204);
    expect(sha256((await stored(done.headers.get('recording-id')!)).bytes)).toBe(sha256(take));
  });

  it('termination (DELETE) removes what was stored and the progress; the upload then answers 410', async () => {
    const take = fakeWebm(9 * MiB, 5);
    const up = await createUpload(t.url, auth, { recordingType: 'camera' });
    expect((await patchUpload(up.location, auth, 0, take)).status).toBe(204);
    const before = (await repo.get(uploadIdOf(up.location)))!;
    if (s3) {
      expect(await repo.parts(before.id)).toHaveLength(1); // 8 MiB in a part, the rest pending
      expect(await repo.chunks(before.id)).toHaveLength(1);
      expect(s3.hasParts(before.multipart_id!)).toBe(true);
    } else {
      expect(fs.statSync(localUploadFile(before.id)).size).toBe(take.length);
    }
    expect((await deleteUpload(up.location, auth)).status).toBe(204);
    expect((await headUpload(up.location, auth)).status).toBe(410);
    expect(await repo.get(before.id)).toMatchObject({ status: 'terminated' });
    expect(await repo.parts(before.id)).toEqual([]);
    expect(await repo.chunks(before.id)).toEqual([]);
    // The multipart upload is aborted: S3 holds none of its parts any more; the local file is gone.
    if (s3) expect(s3.hasParts(before.multipart_id!)).toBe(false);
    else expect(fs.existsSync(localUploadFile(before.id))).toBe(false);
  });

  it('a crash between storing a part and its commit: the re-sent bytes are stored once, byte-identical', async () => {
    const take = fakeWebm(9 * MiB, 13);
    const up = await createUpload(t.url, auth, { recordingType: 'camera' }, { length: take.length });
    const id = uploadIdOf(up.location);
    // The process "dies" right after the first part is stored, before its commit (nothing after runs).
    const crashing = Object.create(repo) as UploadsRepository;
    crashing.commit = async (_id: string, _token: string, _progress: Progress) => {
      throw new Error('simulated crash before the commit');
    };
    const token = randomUUID();
    expect(await repo.tryLease(id, token, 60_000)).toBe(true);
    const locker = { tokenOf: () => token } as unknown as UploadLeaseLocker;
    const dying = new RecordingUploadStore(crashing, locker, createSinks(t.server.storage, crashing), new Map(), log);
    await expect(dying.write(Readable.from([take]), id, 0)).rejects.toBeTruthy();
    await repo.releaseLease(id, token);
    // What the client learns, and where it resumes: nothing was acknowledged.
    expect((await headUpload(up.location, auth)).headers.get('upload-offset')).toBe('0');
    const done = await patchUpload(up.location, auth, 0, take);
    expect(done.status).toBe(204);
    const { bytes, row } = await stored(done.headers.get('recording-id')!);
    expect(sha256(bytes)).toBe(sha256(take));
    expect(row.file_size).toBe(String(take.length));
    await expectNoOrphans();
  });

  it('a crash between assembling the object and its row: the next HEAD finishes it, one recording', async () => {
    const take = fakeWebm(7 * MiB, 17);
    const up = await createUpload(t.url, auth, { recordingType: 'camera' }, { length: take.length });
    const id = uploadIdOf(up.location);
    const sinks = createSinks(t.server.storage, repo);
    const sink = Object.values(sinks)[0]!;
    const assemble = sink.assemble.bind(sink);
    sink.assemble = async (row) => {
      await assemble(row);
      throw new Error('simulated crash after assemble');
    };
    // All bytes in through the normal path, then a finish that dies after assembling.
    const token = randomUUID();
    expect(await repo.tryLease(id, token, 60_000)).toBe(true);
    const store = new RecordingUploadStore(repo, { tokenOf: () => token } as never, sinks, new Map(), log);
    expect(await store.write(Readable.from([take]), id, 0)).toBe(take.length);
    await repo.releaseLease(id, token);
    const { UploadsService } = await import('../src/server/uploads/uploads.service.js');
    const dying = new UploadsService({
      db: t.server.database.db,
      storage: t.server.storage,
      sinks,
      queue,
      logger: log,
    });
    await expect(dying.finish(id)).rejects.toThrow('simulated crash after assemble');
    // The sweep, even with no grace period, leaves the object alone: the unfinished upload owns it.
    const swept = await sweep(
      { db: t.server.database.db, storage: t.server.storage, logger: log },
      {
        dryRun: false,
        graceMs: 0,
      },
    );
    expect(swept.orphans).toEqual([]);
    const before = await recordingCount();
    const head = await headUpload(up.location, auth);
    expect(head.status).toBe(200);
    const recordingId = head.headers.get('recording-id')!;
    expect(recordingId).toBe((await repo.get(id))?.reserved_recording_id);
    expect(await recordingCount()).toBe(before + 1);
    expect(sha256((await stored(recordingId)).bytes)).toBe(sha256(take));
    expect((await headUpload(up.location, auth)).headers.get('recording-id')).toBe(recordingId);
    await expectNoOrphans();
  });

  /** Every stored object belongs to a recording (as `recorder storage sweep` checks it). */
  async function expectNoOrphans() {
    const keys = new Set(
      (await t.server.database.db.selectFrom('recordings').select('storage_key').execute()).map((r) => r.storage_key),
    );
    const queued = (await t.server.database.db.selectFrom('storage_deletions').select('storage_key').execute()).map(
      (r) => r.storage_key,
    );
    const objects: string[] = [];
    if (t.server.storage instanceof S3Storage) {
      const list = await t.server.storage.client.send(new ListObjectsV2Command({ Bucket: t.server.storage.bucket }));
      objects.push(...(list.Contents ?? []).map((o) => o.Key!));
    } else {
      for await (const o of t.server.storage.list('')) objects.push(o.key);
    }
    const orphans = objects.filter((k) => !keys.has(k) && !queued.some((q) => k.startsWith(q)));
    expect(orphans).toEqual([]);
  }
});

const log = createLogger('silent');
const queue = { send: async () => undefined };

describe('S3 unreachable in the middle of an upload', () => {
  let s3: S3rverHandle;
  let t: TestServer;
  let auth: Record<string, string>;
  beforeAll(async () => {
    s3 = await startS3rver();
    t = await startTestServer(target, {
      JOBS_ENABLED: 'false',
      STORAGE_PROVIDER: 's3',
      S3_ENDPOINT: s3.endpoint,
      S3_BUCKET: s3.bucket,
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    });
    auth = (await signUp(t.url, 'unlucky')).headers;
  });
  afterAll(async () => {
    await t?.close();
    await s3?.stop();
  });

  it('answers 503 with a code and Retry-After, acknowledges nothing unstored, and tus-js-client resumes', async () => {
    const take = fakeWebm(40 * MiB, 23);
    const repo = new UploadsRepository(t.server.database.db);
    const refusals: { status: number; retryAfter: string | undefined; code: string | undefined }[] = [];
    let uploadId = '';
    let consistent: boolean | undefined;
    const done = new Promise<string>((resolve, reject) => {
      const upload = new tus.Upload(take, {
        endpoint: `${t.url}/api/uploads`,
        headers: auth,
        metadata: { recordingType: 'screen', title: 'storage outage' },
        chunkSize: 4 * MiB,
        retryDelays: Array(40).fill(250),
        onChunkComplete: (_chunk, accepted) => {
          uploadId = upload.url!.split('/').pop()!;
          if (accepted >= 12 * MiB && !refusals.length) void s3.pause();
        },
        onShouldRetry: (err) => {
          const res = err.originalResponse;
          if (res && !refusals.length) {
            refusals.push({
              status: res.getStatus(),
              retryAfter: res.getHeader('Retry-After'),
              code: (JSON.parse(res.getBody() || '{}') as { code?: string }).code,
            });
            // Nothing acknowledged that is not stored: the offset is exactly the parts plus the pending bytes.
            void offsetIsStored(repo, uploadId).then((ok) => {
              consistent = ok;
              return s3.resume();
            });
          }
          return true;
        },
        onSuccess: ({ lastResponse }) => resolve(lastResponse.getHeader('Recording-Id') ?? ''),
        onError: reject,
      });
      upload.start();
    });
    const recordingId = await done;
    expect(refusals[0]).toEqual({ status: 503, retryAfter: '5', code: 'STORAGE_UNAVAILABLE' });
    expect(consistent).toBe(true);
    const row = await t.server.database.db
      .selectFrom('recordings')
      .select(['storage_key', 'metadata'])
      .where('id', '=', recordingId)
      .executeTakeFirstOrThrow();
    const bytes = await readAll((await t.server.storage.get(row.storage_key!)).body);
    expect(sha256(bytes)).toBe(sha256(take));
    expect(row.metadata?.upload_sha256).toBe(sha256(take));
  });
});

async function offsetIsStored(repo: UploadsRepository, uploadId: string): Promise<boolean> {
  const row = await repo.get(uploadId);
  const parts = await repo.parts(uploadId);
  const pending = await repo.pendingBytes(uploadId);
  return Number(row?.upload_offset) === parts.reduce((n, p) => n + p.size, 0) + pending;
}
