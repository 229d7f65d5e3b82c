/**
 * Legacy import (issue 11) as a user and an operator notice it: /api/imports keeps each import's items
 * and outcomes; the CLI's path (ImportsService.importFile) turns a legacy item into a recording with its
 * original title, type, creation date and duration, exactly once per legacy key — on a second import, two
 * imports at once, or after the user deleted the recording (then never again). The tus path with legacy
 * metadata: the browser's path, here too; what it refuses: imports.failures.test.ts.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/server/logger.js';
import { type ImportableItem, ImportsService } from '../src/server/imports/imports.service.js';
import { signUp, startTestServer, type TestServer } from './support/app.js';
import { connect, pgTargets } from './support/db.js';
import { makeMediaFixtures, type MediaFixtures } from './support/media-fixtures.js';
import { call, waitFor } from './support/recordings-fixtures.js';
import { createUpload, patchUpload } from './support/tus-http.js';

// biome-ignore lint/suspicious/noExplicitAny: the tests read API answers loosely
type Json = Record<string, any>;

const sha256Of = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe.each(pgTargets())('legacy imports on $name', (target) => {
  let t: TestServer;
  let media: MediaFixtures;
  let imports: ImportsService;
  let tmp: string;
  let alice: Awaited<ReturnType<typeof signUp>>;
  let bob: Awaited<ReturnType<typeof signUp>>;
  const api = async (who: { headers: Record<string, string> }, method: string, p: string, body?: unknown) => {
    const res = await call(t.url, method, p, who.headers, body);
    return { status: res.status, body: res.json as Json };
  };
  /** A file of the item's bytes, as the CLI leaves it after decoding (here: a copy of a fixture). */
  const fileOf = (source: string) => ({ path: source, size: fs.statSync(source).size, sha256: sha256Of(source) });
  const item = (over: Partial<ImportableItem> = {}): ImportableItem => ({
    legacySource: 'saved-recordings',
    legacyId: '1700000000000',
    title: 'Standup notes',
    recordingType: 'camera',
    durationMs: 3000,
    createdAt: '2023-11-14T22:13:20.000Z',
    description: 'from the old recorder',
    quality: 'medium',
    ...over,
  });
  const start = async (userId: string) =>
    imports.startImport(userId, { origin: 'cli', itemCount: 1, byteCount: 1, client: 'cli test' });
  const recordingCount = async (userId: string) => {
    const c = await connect(t.dbUrl);
    try {
      const { rows } = await c.query('SELECT count(*)::int AS n FROM recordings WHERE user_id = $1', [userId]);
      return rows[0].n as number;
    } finally {
      await c.end();
    }
  };

  /** One legacy item through tus as the web app sends it: create, then all its bytes in one PATCH. */
  const tusImport = async (who: { headers: Record<string, string> }, importId: string, file: string, over = {}) => {
    const bytes = fs.readFileSync(file);
    const meta = {
      importId,
      legacySource: 'saved-recordings',
      legacyId: 'tus-1',
      legacySha256: sha256Of(file),
      createdAt: '2022-03-04T05:06:07.000Z',
      title: 'Quarterly demo',
      recordingType: 'screen',
      quality: 'low',
      duration: '3',
      ...over,
    };
    const created = await createUpload(t.url, who.headers, meta, { length: bytes.length });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const done = await patchUpload(created.location, who.headers, 0, bytes);
    return {
      status: done.status,
      body: done.body,
      recordingId: done.headers.get('recording-id'),
      outcome: done.headers.get('import-outcome'),
    };
  };
  const startViaApi = async (who: { headers: Record<string, string> }) =>
    (await api(who, 'POST', '/api/imports', { origin: 'browser', itemCount: 1, byteCount: 1 })).body.import
      .id as string;

  beforeAll(async () => {
    [t, media] = await Promise.all([startTestServer(target), makeMediaFixtures()]);
    const { server } = t;
    imports = new ImportsService({
      db: server.database.db,
      storage: server.storage,
      queue: server.boss,
      logger: createLogger('silent'),
    });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-imports-'));
    alice = await signUp(t.url, 'alice');
    bob = await signUp(t.url, 'bob');
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    media?.cleanup();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('keeps an import with its items and outcomes; another user’s is a 404; a finished one takes no more', async () => {
    const started = await api(alice, 'POST', '/api/imports', { origin: 'browser', itemCount: 3, byteCount: 1234 });
    expect(started.status).toBe(201);
    const id = started.body.import.id as string;
    expect(started.body.import).toMatchObject({ origin: 'browser', status: 'running', itemCount: 3, byteCount: 1234 });
    expect(started.body.import).toMatchObject({ imported: 0, already: 0, skipped: 0, failed: 0, finishedAt: null });

    const key = { legacySource: 'saved-recordings', legacyId: '7', sha256: 'a'.repeat(64) };
    const lookup = await api(alice, 'POST', `/api/imports/${id}/lookup`, { items: [key] });
    expect(lookup).toEqual({ status: 200, body: { items: [{ ...key, recordingId: null, size: null, found: false }] } });
    const skips = await api(alice, 'POST', `/api/imports/${id}/skips`, {
      items: [
        {
          legacySource: 'saved-recordings',
          legacyId: '8',
          title: 'Old demo',
          reason: 'BLOB_URL_DEAD',
          message: 'gone',
        },
        {
          legacySource: 'saved-recordings',
          legacyId: null,
          title: null,
          size: 10,
          reason: 'UPLOAD_FAILED',
          message: 'x',
        },
      ],
    });
    expect(skips.status).toBe(204);

    for (const p of [`/api/imports/${id}`, `/api/imports/${id}/lookup`, `/api/imports/${id}/finish`]) {
      const other = await api(
        bob,
        p.endsWith(id) ? 'GET' : 'POST',
        p,
        p.endsWith('lookup') ? { items: [] } : undefined,
      );
      expect(other, p).toMatchObject({ status: 404, body: { code: 'IMPORT_NOT_FOUND' } });
    }
    expect((await api(bob, 'GET', '/api/imports')).body).toEqual({ imports: [] });

    const finished = await api(alice, 'POST', `/api/imports/${id}/finish`);
    expect(finished.body.import).toMatchObject({ status: 'completed', skipped: 1, failed: 1 });
    expect(Date.parse(finished.body.import.finishedAt)).not.toBeNaN();
    const late = await api(alice, 'POST', `/api/imports/${id}/lookup`, { items: [key] });
    expect(late).toMatchObject({ status: 409, body: { code: 'IMPORT_FINISHED' } });

    const one = await api(alice, 'GET', `/api/imports/${id}`);
    expect(one.body.items).toEqual([
      expect.objectContaining({ legacyId: '8', title: 'Old demo', outcome: 'skipped', reason: 'BLOB_URL_DEAD' }),
      expect.objectContaining({ legacyId: null, size: 10, outcome: 'failed', reason: 'UPLOAD_FAILED' }),
    ]);
    const list = await api(alice, 'GET', '/api/imports');
    expect(list.body.imports.map((i: Json) => i.id)).toContain(id);
    expect(await api(alice, 'GET', '/api/imports/99999999')).toMatchObject({ status: 404 });
    expect(await api(alice, 'GET', '/api/imports/nope')).toMatchObject({ body: { code: 'IMPORT_NOT_FOUND' } });
  });

  it('is described in the OpenAPI document', async () => {
    const doc = (await call(t.url, 'GET', '/api/openapi.json')).json as unknown as { paths: Record<string, Json> };
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/api/imports'))).toEqual([
      '/api/imports',
      '/api/imports/{id}',
      '/api/imports/{id}/lookup',
      '/api/imports/{id}/skips',
      '/api/imports/{id}/finish',
    ]);
    expect(doc.paths['/api/recordings/{id}/thumbnail']).toHaveProperty('put');
  });

  it('refuses bad bodies with the field named', async () => {
    const bad = await api(alice, 'POST', '/api/imports', { origin: 'fax', itemCount: -1, byteCount: 0 });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: Json) => e.field)).toEqual(expect.arrayContaining(['origin', 'itemCount']));
    const { body } = await api(alice, 'POST', '/api/imports', { origin: 'cli', itemCount: 1, byteCount: 1 });
    const sha = await api(alice, 'POST', `/api/imports/${body.import.id}/lookup`, {
      items: [{ legacySource: 'saved-recordings', legacyId: '1', sha256: 'XYZ' }],
    });
    expect(sha.status).toBe(400);
    expect(sha.body.errors[0].field).toBe('items.0.sha256');
  });

  it('imports a file as a recording with its original date, title, type, duration; once per legacy key', async () => {
    const first = await start(alice.userId);
    const result = await imports.importFile(alice.userId, first.id, item(), fileOf(media.webm), null);
    expect(result).toMatchObject({ outcome: 'imported', recordingId: expect.any(String) });
    const id = result.recordingId!;
    const rec = await waitFor(
      async () => {
        const r = await api(alice, 'GET', `/api/recordings/${id}`);
        return r.body.status === 'completed' ? r.body : undefined;
      },
      60_000,
      'the imported recording processed',
    );
    expect(rec).toMatchObject({
      title: 'Standup notes',
      description: 'from the old recorder',
      recordingType: 'camera',
      quality: 'medium',
      duration: 3,
      createdAt: '2023-11-14T22:13:20.000Z',
      fileSize: fs.statSync(media.webm).size,
    });
    expect(rec.metadata).toMatchObject({
      upload_sha256: sha256Of(media.webm),
      upload_size: fs.statSync(media.webm).size,
    });

    // again, in a new import: already there, the same recording
    const second = await start(alice.userId);
    expect(await imports.importFile(alice.userId, second.id, item(), fileOf(media.webm), null)).toEqual({
      outcome: 'already',
      recordingId: id,
    });
    const key = { legacySource: 'saved-recordings' as const, legacyId: '1700000000000', sha256: sha256Of(media.webm) };
    const found = await imports.lookup(alice.userId, second.id, [key]);
    expect(found).toEqual([{ ...key, recordingId: id, size: fs.statSync(media.webm).size, found: true }]);
    expect(await recordingCount(alice.userId)).toBe(1);
    // other bytes under the same legacy id are another item (the key includes the sha256)
    const other = await imports.importFile(alice.userId, second.id, item(), fileOf(media.mp4), null);
    expect(other).toMatchObject({ outcome: 'imported' });
    expect(await imports.finishImport(alice.userId, second.id)).toMatchObject({ imported: 1, already: 1 });
  }, 90_000);

  it('two imports of the same item at once make one recording; the other answers already with its id', async () => {
    const [a, b] = await Promise.all([start(bob.userId), start(bob.userId)]);
    const x = item({ legacyId: 'race', title: 'Race' });
    const results = await Promise.all([
      imports.importFile(bob.userId, a.id, x, fileOf(media.ogg), null),
      imports.importFile(bob.userId, b.id, { ...x, recordingType: 'audio' }, fileOf(media.ogg), null),
    ]);
    expect(results.map((r) => r.outcome).sort()).toEqual(['already', 'imported']);
    expect(results[0]!.recordingId).toBe(results[1]!.recordingId);
    expect(await recordingCount(bob.userId)).toBe(1);
  });

  it('skips what is not media or has impossible fields, and records why', async () => {
    const run = await start(alice.userId);
    const text = path.join(tmp, 'notes.txt');
    fs.writeFileSync(text, 'this is not a recording at all, just words in a file\n'.repeat(4));
    const notMedia = await imports.importFile(alice.userId, run.id, item({ legacyId: 't' }), fileOf(text), null);
    expect(notMedia).toMatchObject({ outcome: 'skipped', recordingId: null, reason: 'NOT_MEDIA' });
    const old = await imports.importFile(
      alice.userId,
      run.id,
      item({ legacyId: 'old', createdAt: '1900-01-01T00:00:00Z' }),
      fileOf(media.wav),
      null,
    );
    expect(old).toMatchObject({ outcome: 'skipped', reason: 'VALIDATION_FAILED' });
    expect(old.message).toMatch(/createdAt/);
    const { items } = await imports.describe(alice.userId, run.id);
    expect(items.map((i) => [i.legacyId, i.outcome, i.reason])).toEqual([
      ['t', 'skipped', 'NOT_MEDIA'],
      ['old', 'skipped', 'VALIDATION_FAILED'],
    ]);
  });

  it('never brings back a recording the user deleted: a re-import finds it already, with no recording', async () => {
    const run = await start(alice.userId);
    const x = item({ legacyId: 'deleted-later' });
    const { recordingId } = await imports.importFile(alice.userId, run.id, x, fileOf(media.mkv), null);
    expect((await api(alice, 'DELETE', `/api/recordings/${recordingId}`)).status).toBe(204);
    const before = await recordingCount(alice.userId);
    const again = await start(alice.userId);
    const result = await imports.importFile(alice.userId, again.id, x, fileOf(media.mkv), null);
    expect(result).toEqual({ outcome: 'already', recordingId: null, message: 'imported before, deleted since' });
    expect(await recordingCount(alice.userId)).toBe(before);
    const { items } = await imports.describe(alice.userId, again.id);
    expect(items).toEqual([expect.objectContaining({ outcome: 'already', recordingId: null })]);
  });

  it('a crash between the stored object and the commit leaves no recording; the re-run imports it once', async () => {
    const c = await connect(t.dbUrl);
    const x = item({ legacyId: 'crash', title: 'Crash here' });
    try {
      await c.query(`CREATE FUNCTION fail_crash() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.title = 'Crash here' THEN RAISE EXCEPTION 'simulated crash'; END IF; RETURN NEW; END $$`);
      await c.query(`CREATE TRIGGER trg_fail_crash BEFORE INSERT ON recordings
        FOR EACH ROW EXECUTE FUNCTION fail_crash()`);
      const keys = async () => {
        const found: string[] = [];
        for await (const o of t.server.storage.list(`users/${alice.userId}/`)) found.push(o.key);
        return found;
      };
      const before = await keys();
      const run = await start(alice.userId);
      await expect(imports.importFile(alice.userId, run.id, x, fileOf(media.mov), null)).rejects.toThrow(
        /simulated crash/,
      );
      const { rows } = await c.query(`SELECT count(*)::int AS n FROM recordings WHERE title = 'Crash here'`);
      expect(rows[0].n).toBe(0);
      // the object is there with no row: the storage sweep's to delete (an orphan past its grace period)
      const added = (await keys()).filter((k) => !before.includes(k));
      expect(added).toEqual([expect.stringMatching(/\/original\.mov$/)]);
      const { rows: owners } = await c.query('SELECT count(*)::int AS n FROM recordings WHERE storage_key = $1', added);
      expect(owners[0].n).toBe(0);
      await c.query('DROP TRIGGER trg_fail_crash ON recordings');

      const rerun = await start(alice.userId);
      expect(await imports.importFile(alice.userId, rerun.id, x, fileOf(media.mov), null)).toMatchObject({
        outcome: 'imported',
      });
      const third = await start(alice.userId);
      expect(await imports.importFile(alice.userId, third.id, x, fileOf(media.mov), null)).toMatchObject({
        outcome: 'already',
      });
      const { rows: after } = await c.query(`SELECT count(*)::int AS n FROM recordings WHERE title = 'Crash here'`);
      expect(after[0].n).toBe(1);
    } finally {
      await c.query('DROP TRIGGER IF EXISTS trg_fail_crash ON recordings');
      await c.end();
    }
  });

  it('imports an item through tus with its legacy metadata: original date, title, type, duration; once', async () => {
    const carol = await signUp(t.url, 'carol');
    const first = await tusImport(carol, await startViaApi(carol), media.webm);
    expect(first).toMatchObject({ status: 204, outcome: 'imported', recordingId: expect.any(String) });
    const rec = await waitFor(
      async () => {
        const r = await api(carol, 'GET', `/api/recordings/${first.recordingId}`);
        return r.body.status === 'completed' ? r.body : undefined;
      },
      60_000,
      'the imported recording processed',
    );
    expect(rec).toMatchObject({ title: 'Quarterly demo', recordingType: 'screen', quality: 'low', duration: 3 });
    expect(rec.createdAt).toBe('2022-03-04T05:06:07.000Z');
    expect(rec.metadata).toMatchObject({
      upload_sha256: sha256Of(media.webm),
      upload_size: fs.statSync(media.webm).size,
    });

    // a second import: the lookup finds it; uploading it anyway answers already, with the same recording
    const second = await startViaApi(carol);
    const key = { legacySource: 'saved-recordings', legacyId: 'tus-1', sha256: sha256Of(media.webm) };
    const found = await api(carol, 'POST', `/api/imports/${second}/lookup`, { items: [key] });
    expect(found.body.items).toEqual([
      { ...key, recordingId: first.recordingId, size: expect.any(Number), found: true },
    ]);
    const again = await tusImport(carol, second, media.webm);
    expect(again).toMatchObject({ status: 204, outcome: 'already', recordingId: first.recordingId });
    const finished = await api(carol, 'POST', `/api/imports/${second}/finish`);
    expect(finished.body.import).toMatchObject({ imported: 0, already: 1 });
    expect(await recordingCount(carol.userId)).toBe(1);
  }, 90_000);

  it('two uploads of the same item at once (two tabs) make one recording; both learn its id', async () => {
    const dave = await signUp(t.url, 'dave');
    const [a, b] = await Promise.all([startViaApi(dave), startViaApi(dave)]);
    const over = { legacySource: 'browser-take', legacyId: 'take-9' };
    const both = await Promise.all([tusImport(dave, a, media.mp4, over), tusImport(dave, b, media.mp4, over)]);
    expect(both.map((r) => r.status)).toEqual([204, 204]);
    expect(both.map((r) => r.outcome).sort()).toEqual(['already', 'imported']);
    expect(both[0]!.recordingId).toBe(both[1]!.recordingId);
    expect(await recordingCount(dave.userId)).toBe(1);
  });

  it('a recording deleted after its import is not brought back by a re-import through tus', async () => {
    const erin = await signUp(t.url, 'erin');
    const first = await tusImport(erin, await startViaApi(erin), media.ogg, { recordingType: 'audio' });
    expect((await api(erin, 'DELETE', `/api/recordings/${first.recordingId}`)).status).toBe(204);
    const again = await tusImport(erin, await startViaApi(erin), media.ogg, { recordingType: 'audio' });
    expect(again).toMatchObject({ status: 204, outcome: 'already', recordingId: null });
    expect(await recordingCount(erin.userId)).toBe(0);
  });
});
