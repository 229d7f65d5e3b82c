/**
 * Uploads that must be refused, and how: the status, the JSON error code, and that nothing is left
 * behind (no uploads row, no bytes kept in DATA_DIR/media/.uploads or under the user's media, no
 * recording). Plus uploads whose finish fails, and a finish interrupted by a crash.
 */
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { loadConfig } from '../src/server/config.js';
import { freePort } from '../src/server/db/embedded.js';
import { createLogger } from '../src/server/logger.js';
import { startServer, type RunningServer } from '../src/server/server.js';
import { signUp, startTestServer, type TestServer } from './support/app.js';
import { connect, freshDatabase, pgTargets } from './support/db.js';
import { finishCrashRig } from './support/finish-crash.js';
import { makeMediaFixtures, type MediaFixtures } from './support/media-fixtures.js';

const TUS = { 'Tus-Resumable': '1.0.0' };
type Headers = Record<string, string>;

/** A Buffer as a fetch body (TypeScript's BodyInit wants an ArrayBuffer-backed view). */
const asBody = (b: Buffer) => new Uint8Array(b.buffer as ArrayBuffer, b.byteOffset, b.length);
const b64 = (s: string) => Buffer.from(s).toString('base64');
const metadataHeader = (m: Record<string, string>) =>
  Object.entries(m)
    .map(([k, v]) => `${k} ${b64(v)}`)
    .join(',');

interface Reply {
  status: number;
  body: { code?: string; message?: string; details?: { field?: string } } | undefined;
  headers: globalThis.Headers;
}

async function send(url: string, init: RequestInit & { headers: Headers }): Promise<Reply> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: Reply['body'];
  try {
    body = text ? (JSON.parse(text) as Reply['body']) : undefined;
  } catch {
    throw new Error(`expected a JSON body, got ${res.status} ${JSON.stringify(text)}`);
  }
  return { status: res.status, body, headers: res.headers };
}

/** POST /api/uploads (tus creation) with the given length, metadata and headers. */
function create(
  url: string,
  headers: Headers,
  metadata: Record<string, string>,
  length: number | 'deferred' = 1000,
  body?: Buffer,
): Promise<Reply> {
  return send(`${url}/api/uploads`, {
    method: 'POST',
    headers: {
      ...TUS,
      ...headers,
      ...(length === 'deferred' ? { 'upload-defer-length': '1' } : { 'upload-length': String(length) }),
      'upload-metadata': metadataHeader(metadata),
      ...(body ? { 'content-type': 'application/offset+octet-stream' } : {}),
    },
    ...(body ? { body: asBody(body) } : {}),
  });
}

function patch(uploadUrl: string, headers: Headers, offset: number, body: Buffer, extra: Headers = {}): Promise<Reply> {
  return send(uploadUrl, {
    method: 'PATCH',
    headers: {
      ...TUS,
      ...headers,
      'content-type': 'application/offset+octet-stream',
      'upload-offset': String(offset),
      ...extra,
    },
    body: asBody(body),
  });
}

/** The tus-js-client error's HTTP status and parsed JSON body. */
async function tusFailure(
  file: Buffer,
  o: { endpoint: string; headers: Headers; metadata: Record<string, string>; uploadDataDuringCreation?: boolean },
) {
  const err = await new Promise<tus.DetailedError>((resolve, reject) => {
    const up = new tus.Upload(file, {
      ...o,
      retryDelays: null,
      onSuccess: () => reject(new Error('the upload was accepted')),
      onError: (e) => resolve(e as tus.DetailedError),
    });
    up.start();
  });
  const res = err.originalResponse;
  if (!res) throw new Error(`no HTTP response: ${err.message}`);
  return { status: res.getStatus(), body: JSON.parse(res.getBody()) as { code: string; message: string } };
}

async function query<T extends pg.QueryResultRow>(dbUrl: string, text: string, params: unknown[] = []): Promise<T[]> {
  const c = await connect(dbUrl);
  try {
    return (await c.query<T>(text, params)).rows;
  } finally {
    await c.end();
  }
}

const uploadsOf = (dbUrl: string, userId: string) =>
  query<{ id: string; status: string }>(dbUrl, 'SELECT id, status FROM uploads WHERE user_id = $1', [userId]);
const recordingsOf = (dbUrl: string, userId: string) =>
  query<{ id: string }>(dbUrl, 'SELECT id FROM recordings WHERE user_id = $1', [userId]);
/** Unfinished uploads' files on disk (DATA_DIR/media/.uploads/<id>), for "nothing was kept" checks. */
const uploadFiles = (dataDir: string) => {
  try {
    return fs.readdirSync(path.join(dataDir, 'media', '.uploads'));
  } catch {
    return [];
  }
};
const uploadFile = (dataDir: string, id: string) => path.join(dataDir, 'media', '.uploads', id);
/** Every file under the user's media (users/<u>/…): where a finished upload's bytes would be. */
const mediaOf = (dataDir: string, userId: string) => {
  const dir = path.join(dataDir, 'media', 'users', userId);
  return fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }) : [];
};
/** The uploads rows with what refused them. */
const refusalsOf = (dbUrl: string, userId: string) =>
  query<{ id: string; status: string; error: string | null; upload_offset: string; storage_key: string | null }>(
    dbUrl,
    'SELECT id, status, error, upload_offset, storage_key FROM uploads WHERE user_id = $1',
    [userId],
  );

/**
 * A WAV header (the sniff passes) and zeros: no duration anywhere; kept anyway (never lose a take).
 * Not a WebM header with garbage: mediabunny 1.61 never returns on those, and the probe then waits for
 * its time limit (see 'a hostile upload' below).
 */
function notMedia(): Buffer {
  const wav = fs.readFileSync(fx.wav);
  return Buffer.concat([wav.subarray(0, 12), Buffer.alloc(20_000)]);
}

let fx: MediaFixtures;
beforeAll(async () => {
  fx = await makeMediaFixtures();
});
afterAll(() => fx?.cleanup());

describe.each(pgTargets())('refused uploads on $name', (target) => {
  let t: TestServer;
  let small: TestServer;
  beforeAll(async () => {
    [t, small] = await Promise.all([
      startTestServer(target),
      startTestServer(target, { MAX_UPLOAD_BYTES: '100000', JOBS_ENABLED: 'false' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([t?.close(), small?.close()]);
  });

  it.each([
    ['a PNG', () => fx.png, 'image/png'],
    ['a text file', () => fx.text, 'text/plain'],
  ])(
    'refuses %s with 415 naming the detected type, keeping no byte and making no recording',
    async (_what, file, detected) => {
      const user = await signUp(t.url, 'sniffed');
      const bytes = fs.readFileSync(file());
      for (const uploadDataDuringCreation of [false, true]) {
        const { status, body } = await tusFailure(bytes, {
          endpoint: `${t.url}/api/uploads`,
          headers: user.headers,
          metadata: { recordingType: 'screen', filename: 'x.webm' },
          uploadDataDuringCreation,
        });
        expect(status).toBe(415);
        expect(body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
        expect(body.message).toContain(detected);
      }
      expect(await recordingsOf(t.dbUrl, user.userId)).toEqual([]);
      // The uploads exist (creation succeeded), refused for good with the reason, and hold nothing: the
      // refused bytes were never committed, and no file is left in DATA_DIR/media/.uploads.
      const ups = await refusalsOf(t.dbUrl, user.userId);
      expect(ups).toHaveLength(2);
      for (const u of ups) {
        expect(u).toMatchObject({ status: 'failed', upload_offset: '0', storage_key: null });
        expect(u.error).toContain(detected);
        expect(fs.existsSync(uploadFile(t.dataDir, u.id))).toBe(false);
        // Every later request on it is refused the same way (HEAD has no body: the status says it).
        const url = `${t.url}/api/uploads/${u.id}`;
        expect((await fetch(url, { method: 'HEAD', headers: { ...TUS, ...user.headers } })).status).toBe(415);
        const again = await patch(url, user.headers, 0, bytes);
        expect(again).toMatchObject({ status: 415, body: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
        expect(again.body?.message).toContain(detected);
      }
      expect(mediaOf(t.dataDir, user.userId)).toEqual([]);
      expect((await send(`${t.url}/api/recordings`, { headers: user.headers })).body).toMatchObject({ items: [] });
    },
  );

  it('refuses a large non-media body with a 415 the client can read, while the body is still arriving', async () => {
    const user = await signUp(t.url, 'bigpng');
    const bytes = Buffer.concat([fs.readFileSync(fx.png), randomBytes(8 * 1024 * 1024)]);
    const { status, body } = await tusFailure(bytes, {
      endpoint: `${t.url}/api/uploads`,
      headers: user.headers,
      metadata: { recordingType: 'screen' },
    });
    expect(status).toBe(415);
    expect(body).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', message: expect.stringContaining('image/png') });
    const [u] = await refusalsOf(t.dbUrl, user.userId);
    expect(u).toMatchObject({ status: 'failed', upload_offset: '0' });
    expect(fs.existsSync(uploadFile(t.dataDir, u!.id))).toBe(false);
    expect(mediaOf(t.dataDir, user.userId)).toEqual([]);
  });

  it('sniffs across PATCHes: a 1-byte first PATCH is accepted, the upload refused once it holds 64 B', async () => {
    const user = await signUp(t.url, 'slices');
    const png = fs.readFileSync(fx.png);
    const created = await create(t.url, user.headers, { recordingType: 'screen' }, 'deferred');
    const url = new URL(created.headers.get('location')!, t.url).toString();
    // A recorder's first slice may be 1 byte: too short to judge, kept (committed) until more arrives.
    expect(await patch(url, user.headers, 0, png.subarray(0, 1))).toMatchObject({ status: 204 });
    expect(await refusalsOf(t.dbUrl, user.userId)).toMatchObject([{ status: 'uploading', upload_offset: '1' }]);
    const refused = await patch(url, user.headers, 1, png.subarray(1, 100));
    expect(refused).toMatchObject({ status: 415, body: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
    expect(refused.body?.message).toContain('image/png');
    // Refused for good: the byte it kept is gone, and so is the upload for every later request.
    expect(await refusalsOf(t.dbUrl, user.userId)).toMatchObject([{ status: 'failed', upload_offset: '1' }]);
    const [u] = await refusalsOf(t.dbUrl, user.userId);
    expect(fs.existsSync(uploadFile(t.dataDir, u!.id))).toBe(false);
    expect((await fetch(url, { method: 'HEAD', headers: { ...TUS, ...user.headers } })).status).toBe(415);
    expect(await patch(url, user.headers, 1, png.subarray(1, 100))).toMatchObject({ status: 415 });
    expect(await recordingsOf(t.dbUrl, user.userId)).toEqual([]);
  });

  it('refuses an Upload-Length above MAX_UPLOAD_BYTES with 413, before creating anything', async () => {
    const user = await signUp(small.url, 'big');
    const res = await create(small.url, user.headers, { recordingType: 'screen' }, 200_000);
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(await uploadsOf(small.dbUrl, user.userId)).toEqual([]);
    // At the limit is fine.
    expect((await create(small.url, user.headers, { recordingType: 'screen' }, 100_000)).status).toBe(201);
  });

  it('refuses a deferred-length upload that grows past MAX_UPLOAD_BYTES with 413', async () => {
    const user = await signUp(small.url, 'deferred');
    const created = await create(small.url, user.headers, { recordingType: 'screen' }, 'deferred');
    expect(created.status).toBe(201);
    const url = new URL(created.headers.get('location')!, small.url).toString();
    const webm = fs.readFileSync(fx.webm);
    expect((await patch(url, user.headers, 0, webm.subarray(0, 60_000))).status).toBe(204);
    const over = await patch(url, user.headers, 60_000, Buffer.concat([webm, webm]).subarray(60_000, 160_000));
    expect(over.status).toBe(413);
    expect(over.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    const declared = await patch(url, user.headers, 60_000, Buffer.alloc(0), { 'upload-length': '200000' });
    expect(declared.status).toBe(413);
    expect(await recordingsOf(small.dbUrl, user.userId)).toEqual([]);
  });

  describe('bad metadata: 4xx with a code, no uploads row, nothing on disk', () => {
    it.each([
      ['recordingType missing', { title: 'x' }, 400, 'VALIDATION_FAILED', 'recordingType'],
      ['recordingType unknown', { recordingType: 'hologram' }, 400, 'VALIDATION_FAILED', 'recordingType'],
      ['quality unknown', { recordingType: 'screen', quality: 'ultra' }, 400, 'VALIDATION_FAILED', 'quality'],
      ['duration 0', { recordingType: 'screen', duration: '0' }, 400, 'VALIDATION_FAILED', 'duration'],
      ['duration not a number', { recordingType: 'screen', duration: 'ten' }, 400, 'VALIDATION_FAILED', 'duration'],
      [
        'projectId not numeric',
        { recordingType: 'screen', projectId: '1;drop' },
        400,
        'VALIDATION_FAILED',
        'projectId',
      ],
      ['title too long', { recordingType: 'screen', title: 'x'.repeat(301) }, 400, 'VALIDATION_FAILED', 'title'],
      ['sessionId of nobody', { recordingType: 'screen', sessionId: '999999' }, 404, 'SESSION_NOT_FOUND', undefined],
    ] as const)('%s', async (_what, metadata, status, code, field) => {
      const user = await signUp(t.url, 'meta');
      const before = uploadFiles(t.dataDir).length;
      const res = await create(t.url, user.headers, metadata);
      expect(res.status).toBe(status);
      expect(res.body).toMatchObject({ code });
      if (field) expect(res.body?.details?.field).toBe(field);
      expect(await uploadsOf(t.dbUrl, user.userId)).toEqual([]);
      expect(uploadFiles(t.dataDir)).toHaveLength(before);
    });

    it("projectId of a project the user is not in: 404 PROJECT_NOT_FOUND; a viewer's: 403", async () => {
      const owner = await signUp(t.url, 'powner');
      const other = await signUp(t.url, 'pother');
      const project = await send(`${t.url}/api/projects`, {
        method: 'POST',
        headers: { ...owner.headers, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Private' }),
      });
      const projectId = (project.body as { id: string }).id;
      const res = await create(t.url, other.headers, { recordingType: 'screen', projectId });
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ code: 'PROJECT_NOT_FOUND' });
      expect(await uploadsOf(t.dbUrl, other.userId)).toEqual([]);

      const added = await send(`${t.url}/api/projects/${projectId}/members`, {
        method: 'POST',
        headers: { ...owner.headers, 'content-type': 'application/json' },
        body: JSON.stringify({ email: other.email, role: 'viewer' }),
      });
      expect(added.status).toBe(201);
      const viewer = await create(t.url, other.headers, { recordingType: 'screen', projectId });
      expect(viewer.status).toBe(403);
      expect(viewer.body).toMatchObject({ code: 'FORBIDDEN' });
      expect(await uploadsOf(t.dbUrl, other.userId)).toEqual([]);
      // The owner may.
      expect((await create(t.url, owner.headers, { recordingType: 'screen', projectId })).status).toBe(201);
    });
  });

  it('refuses unauthenticated requests with 401, and a revoked or unknown token too', async () => {
    const res = await create(t.url, {}, { recordingType: 'screen' });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ code: 'UNAUTHENTICATED' });
    const bad = await create(t.url, { authorization: 'Bearer rt_nope' }, { recordingType: 'screen' });
    expect(bad.status).toBe(401);

    // An existing upload is no more reachable without credentials.
    const user = await signUp(t.url, 'anon');
    const created = await create(t.url, user.headers, { recordingType: 'screen' });
    const url = new URL(created.headers.get('location')!, t.url).toString();
    expect((await fetch(url, { method: 'HEAD', headers: TUS })).status).toBe(401);
    expect((await patch(url, {}, 0, fs.readFileSync(fx.webm).subarray(0, 1000))).status).toBe(401);
    expect((await send(url, { method: 'DELETE', headers: TUS })).status).toBe(401);
    // Nothing reached the upload: no byte committed, no file in DATA_DIR/media/.uploads, still uploading.
    const id = url.split('/').pop()!;
    expect(await refusalsOf(t.dbUrl, user.userId)).toMatchObject([{ id, status: 'uploading', upload_offset: '0' }]);
    expect(fs.existsSync(uploadFile(t.dataDir, id))).toBe(false);
  });

  it('refuses a cookie-authenticated POST from a foreign Origin (or none) with 403 ORIGIN_MISMATCH', async () => {
    const user = await signUp(t.url, 'csrf');
    for (const origin of [{ origin: 'https://evil.example' }, {}] as Headers[]) {
      const res = await create(t.url, { cookie: user.cookie, ...origin }, { recordingType: 'screen' });
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ code: 'ORIGIN_MISMATCH' });
    }
    expect(await uploadsOf(t.dbUrl, user.userId)).toEqual([]);
    // The same request from our origin works; a token needs no Origin.
    expect((await create(t.url, user.headers, { recordingType: 'screen' })).status).toBe(201);
  });

  it('keeps an upload with no measurable duration: a recording, never failed with its bytes deleted', async () => {
    const user = await signUp(t.url, 'garbage');
    const bytes = notMedia();
    const created = await create(t.url, user.headers, { recordingType: 'screen' }, bytes.length);
    const url = new URL(created.headers.get('location')!, t.url).toString();
    const res = await patch(url, user.headers, 0, bytes);
    expect(res.status).toBe(204);
    const [rec] = await recordingsOf(t.dbUrl, user.userId);
    expect(res.headers.get('recording-id')).toBe(rec!.id);
    const [u] = await uploadsOf(t.dbUrl, user.userId);
    expect(u).toMatchObject({ status: 'completed' });
    // Its bytes moved from DATA_DIR/media/.uploads to the recording's own key.
    expect(fs.existsSync(uploadFile(t.dataDir, u!.id))).toBe(false);
    // Processing may fail on it later; the stored bytes stay either way.
    const [row] = await query<{ file_size: string; storage_key: string; metadata: { duration_unknown?: boolean } }>(
      t.dbUrl,
      'SELECT file_size, storage_key, metadata FROM recordings WHERE id = $1',
      [rec!.id],
    );
    expect(Number(row!.file_size)).toBe(bytes.length);
    expect(fs.readFileSync(path.join(t.dataDir, 'media', row!.storage_key))).toEqual(bytes);
  });
});

describe.each(pgTargets())('finishing uploads after a crash on $name', (target) => {
  it('a server starts even when a complete upload left by a crash cannot become a recording', async () => {
    const db = await freshDatabase(target);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-upload-fail-'));
    const logger = createLogger((process.env.TEST_LOG_LEVEL as 'info') ?? 'silent');
    const config = loadConfig({
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      PORT: '0',
      JOBS_ENABLED: 'false',
    });
    let server: RunningServer | undefined = await startServer(config, logger);
    try {
      const user = await signUp(server.url, 'crash');
      // Two uploads whose bytes all arrived, left `uploading` by the crash: one good, one that can never be
      // finished (below, the sniff's decision is gone from its row: no media type, which no retry can
      // change — the finish refuses it as UNSUPPORTED_MEDIA_TYPE, a permanent failure).
      const good = fs.readFileSync(fx.webm);
      const bad = notMedia();
      const ids: string[] = [];
      for (const bytes of [good, bad]) {
        const created = await create(
          server.url,
          user.headers,
          { recordingType: 'screen', title: bytes === good ? 'good' : 'bad' },
          bytes.length + 1,
        );
        const url = new URL(created.headers.get('location')!, server.url).toString();
        expect((await patch(url, user.headers, 0, bytes)).status).toBe(204);
        ids.push(url.split('/').pop()!);
      }
      await server.stop();
      server = undefined;
      // Make both complete (offset == length), as if the crash hit between the last byte and the finish.
      await query(db.url, 'UPDATE uploads SET upload_length = upload_offset WHERE id = ANY($1)', [ids]);
      await query(db.url, 'UPDATE uploads SET media_type = NULL, storage_key = NULL WHERE id = $1', [ids[1]]);
      expect(fs.readFileSync(uploadFile(dataDir, ids[1]!))).toEqual(bad);
      server = await startServer(config, logger);
      const rows = await query<{ id: string; status: string; recording_id: string | null }>(
        db.url,
        'SELECT id, status, recording_id FROM uploads ORDER BY created_at',
      );
      expect(rows.find((r) => r.id === ids[0])).toMatchObject({
        status: 'completed',
        recording_id: expect.stringMatching(/^\d+$/),
      });
      expect(rows.find((r) => r.id === ids[1])).toMatchObject({ status: 'failed', recording_id: null });
      const recordings = await query<{ title: string; storage_key: string }>(
        db.url,
        'SELECT title, storage_key FROM recordings',
      );
      expect(recordings.map((r) => r.title)).toEqual(['good']);
      expect(fs.readFileSync(path.join(dataDir, 'media', recordings[0]!.storage_key))).toEqual(good);
      // The given-up upload's bytes are dropped; nothing of either is left in DATA_DIR/media/.uploads.
      expect(uploadFiles(dataDir)).toEqual([]);
      expect(mediaOf(dataDir, user.userId).filter((f) => f.endsWith('original.webm'))).toHaveLength(1);
    } finally {
      await server?.stop();
      await db.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('a finish interrupted after the object was assembled is redone under the same key: no orphan object', async () => {
    const rig = await finishCrashRig(target, fx.webm);
    const { storage, user, size } = rig;
    try {
      await rig.uploads().create('u1', user.userId, { recordingType: 'screen' }, size);
      expect(await rig.fill('u1')).toBe(size);
      // The crash: the process dies right after the object exists under its final key, before the row.
      await expect(rig.uploads(rig.crashing).finish('u1')).rejects.toThrow('simulated crash after assemble');
      const objectsAfterCrash = [];
      for await (const o of storage.list('')) objectsAfterCrash.push(o.key);
      expect(objectsAfterCrash).toHaveLength(1);
      expect(fs.existsSync(rig.uploadPath('u1'))).toBe(false);
      expect(await recordingsOf(rig.dbUrl, user.userId)).toEqual([]);
      // Still `uploading` and complete: what start-up, housekeeping and HEAD recover.
      expect(await rig.repo.completeButUnfinished()).toEqual(['u1']);

      const { recordingId } = await rig.uploads().finish('u1');
      const objects = [];
      for await (const o of storage.list('')) objects.push(o.key);
      expect(objects).toEqual(objectsAfterCrash);
      expect(objects[0]).toContain(`/recordings/${recordingId}/`);
      const [row] = await query<{ storage_key: string; file_size: string }>(
        rig.dbUrl,
        'SELECT storage_key, file_size FROM recordings WHERE id = $1',
        [recordingId],
      );
      expect(row).toEqual({ storage_key: objects[0], file_size: String(size) });
      expect(fs.readFileSync(path.join(storage.root, objects[0]!))).toEqual(fs.readFileSync(rig.file));
      expect(await query(rig.dbUrl, 'SELECT storage_key FROM storage_deletions')).toEqual([]);
      // Idempotent once done: the same recording again, no second object, one processing job.
      expect(await rig.uploads().finish('u1')).toEqual({ recordingId });
      expect(await recordingsOf(rig.dbUrl, user.userId)).toEqual([{ id: recordingId }]);
      expect(rig.sent).toHaveLength(1);
    } finally {
      await rig.close();
    }
  });
});

describe.each(pgTargets().slice(0, 1))('a hostile upload on $name', (target) => {
  // mediabunny 1.61.0 never returns on a WebM/EBML header followed by anything that is not EBML (zeros,
  // text), and UploadsService.finish probes with it when the client sends no "duration": one upload of
  // 64 header bytes + 100 zero bytes froze the whole server (event loop starved: every request, jobs,
  // shutdown). probeDuration now runs mediabunny in a worker thread with a time limit
  // (src/server/media/probe.ts); this test keeps it that way. The server runs as a child process so
  // that, should it freeze again, the test fails instead of freezing the test runner with it.
  it('a WebM header + garbage without a duration does not freeze the server', { timeout: 60_000 }, async () => {
    const db = await freshDatabase(target);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-upload-hostile-'));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const root = path.resolve(import.meta.dirname, '..');
    const child = spawn(process.execPath, [path.join(root, 'bin/recorder.js'), 'serve'], {
      cwd: root,
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        DATA_DIR: dataDir,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        JOBS_ENABLED: 'false',
      },
      stdio: 'ignore',
    });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    try {
      for (let i = 0; (await fetch(`${url}/ready`).catch(() => undefined))?.status !== 200; i++) {
        if (i > 300) throw new Error('the server did not start');
        await new Promise((r) => setTimeout(r, 100));
      }
      const user = await signUp(url, 'hostile');
      const bytes = Buffer.concat([fs.readFileSync(fx.webm).subarray(0, 64), Buffer.alloc(100)]);
      const created = await create(url, user.headers, { recordingType: 'screen' }, bytes.length);
      const uploadUrl = new URL(created.headers.get('location')!, url).toString();
      // The finish (probing) may take until the probe's time limit; the server must answer meanwhile.
      const finish = patch(uploadUrl, user.headers, 0, bytes).catch((e: Error) => e);
      await new Promise((r) => setTimeout(r, 1000));
      for (const p of ['/health', '/api/auth/me']) {
        const status = await fetch(`${url}${p}`, { headers: user.headers, signal: AbortSignal.timeout(3000) }).then(
          (r) => r.status,
          (e: Error) => e.name,
        );
        expect(status, p).toBe(200);
      }
      void finish;
    } finally {
      child.kill('SIGKILL');
      await exited;
      await db.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
