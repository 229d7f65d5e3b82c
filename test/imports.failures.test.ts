/**
 * What legacy import refuses, and how a user learns why: bytes whose sha256 is not the announced one
 * (422, nothing kept), another user's or a finished import (404, 409), legacy metadata that is partial or
 * impossible (400 naming the field). And the thumbnail a legacy item brings: PUT /api/recordings/:id/
 * thumbnail stores a JPEG, PNG or WebP (by its bytes) that processing never replaces; anything else is 415,
 * past 2 MB 413, another user's recording 404.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, startTestServer, type TestServer } from './support/app.js';
import { connect, pgTargets } from './support/db.js';
import { makeMediaFixtures, type MediaFixtures } from './support/media-fixtures.js';
import { call, waitFor } from './support/recordings-fixtures.js';
import { createUpload, patchUpload } from './support/tus-http.js';

// biome-ignore lint/suspicious/noExplicitAny: the tests read API answers loosely
type Json = Record<string, any>;
type User = Awaited<ReturnType<typeof signUp>>;

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe.each(pgTargets())('legacy import refusals on $name', (target) => {
  let t: TestServer;
  let media: MediaFixtures;
  let alice: User;
  let bob: User;
  let bytes: Buffer;
  const api = async (who: User, method: string, p: string, body?: unknown) => {
    const res = await call(t.url, method, p, who.headers, body);
    return { status: res.status, body: res.json as Json };
  };
  const startImport = async (who: User) =>
    (await api(who, 'POST', '/api/imports', { origin: 'browser', itemCount: 1, byteCount: 1 })).body.import
      .id as string;
  const legacyMeta = (importId: string, over: Record<string, string> = {}) => ({
    importId,
    legacySource: 'saved-recordings',
    legacyId: '42',
    legacySha256: sha256(bytes),
    createdAt: '2021-06-01T12:00:00Z',
    recordingType: 'camera',
    title: 'Birthday',
    ...over,
  });
  const recordingsOf = async (userId: string) => {
    const c = await connect(t.dbUrl);
    try {
      return (await c.query('SELECT id::text FROM recordings WHERE user_id = $1', [userId])).rows.length;
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    [t, media] = await Promise.all([startTestServer(target), makeMediaFixtures()]);
    bytes = fs.readFileSync(media.webm);
    alice = await signUp(t.url, 'alice');
    bob = await signUp(t.url, 'bob');
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    media?.cleanup();
  });

  it('bytes that are not the announced sha256: 422 LEGACY_SHA256_MISMATCH, no recording, upload failed', async () => {
    const meta = legacyMeta(await startImport(alice), { legacySha256: 'c'.repeat(64) });
    const created = await createUpload(t.url, alice.headers, meta, { length: bytes.length });
    expect(created.status).toBe(201);
    const done = await patchUpload(created.location, alice.headers, 0, bytes);
    expect(done.status).toBe(422);
    expect(done.body).toMatchObject({ code: 'LEGACY_SHA256_MISMATCH' });
    expect(done.headers.get('recording-id')).toBeNull();
    expect(await recordingsOf(alice.userId)).toBe(0);
    const c = await connect(t.dbUrl);
    try {
      const { rows } = await c.query(`SELECT status FROM uploads WHERE user_id = $1`, [alice.userId]);
      expect(rows).toEqual([{ status: 'failed' }]);
    } finally {
      await c.end();
    }
  });

  it('another user’s import is 404 IMPORT_NOT_FOUND, a finished one 409 IMPORT_FINISHED, at creation', async () => {
    const bobs = await startImport(bob);
    const other = await createUpload(t.url, alice.headers, legacyMeta(bobs), { length: bytes.length });
    expect(other).toMatchObject({ status: 404, body: { code: 'IMPORT_NOT_FOUND' } });
    const none = await createUpload(t.url, alice.headers, legacyMeta('987654321'), { length: bytes.length });
    expect(none).toMatchObject({ status: 404, body: { code: 'IMPORT_NOT_FOUND' } });
    const mine = await startImport(alice);
    await api(alice, 'POST', `/api/imports/${mine}/finish`);
    const finished = await createUpload(t.url, alice.headers, legacyMeta(mine), { length: bytes.length });
    expect(finished).toMatchObject({ status: 409, body: { code: 'IMPORT_FINISHED' } });
  });

  it('bad legacy metadata is 400 VALIDATION_FAILED naming the field', async () => {
    const run = await startImport(alice);
    const cases: [Record<string, string>, string][] = [
      [{ ...legacyMeta(run), createdAt: '1900-01-01T00:00:00Z' }, 'createdAt'],
      [{ ...legacyMeta(run), createdAt: '2999-01-01T00:00:00Z' }, 'createdAt'],
      [{ ...legacyMeta(run), createdAt: 'last tuesday' }, 'createdAt'],
      [{ ...legacyMeta(run), legacySha256: 'not-a-sha' }, 'legacySha256'],
      [{ ...legacyMeta(run), legacySource: 'floppy' }, 'legacySource'],
      [{ ...legacyMeta(run), legacyId: 'x'.repeat(201) }, 'legacyId'],
      [{ importId: run, legacySource: 'saved-recordings', recordingType: 'camera' }, 'legacyId'],
      [{ legacyId: '1', legacySha256: sha256(bytes), recordingType: 'camera' }, 'importId'],
      [{ recordingType: 'camera', createdAt: '2021-06-01T12:00:00Z' }, 'createdAt'],
    ];
    for (const [meta, field] of cases) {
      const res = await createUpload(t.url, alice.headers, meta, { length: bytes.length });
      expect(res.status, JSON.stringify(meta)).toBe(400);
      expect(res.body, JSON.stringify(meta)).toMatchObject({ code: 'VALIDATION_FAILED', details: { field } });
    }
  });

  it('a thumbnail PUT is kept as the recording’s and processing never replaces it', async () => {
    const created = await createUpload(t.url, alice.headers, legacyMeta(await startImport(alice)), {
      length: bytes.length,
    });
    const done = await patchUpload(created.location, alice.headers, 0, bytes);
    const id = done.headers.get('recording-id')!;
    const png = fs.readFileSync(media.png);
    const put = await fetch(`${t.url}/api/recordings/${id}/thumbnail`, {
      method: 'PUT',
      headers: { ...alice.headers, 'content-type': 'image/png' },
      body: png,
    });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ id, thumbnailUrl: `/api/recordings/${id}/thumbnail` });
    const processed = await waitFor(
      async () => {
        const r = await api(alice, 'GET', `/api/recordings/${id}`);
        return r.body.status === 'completed' ? r.body : undefined;
      },
      60_000,
      'processing',
    );
    expect(processed.metadata).toMatchObject({ thumbnail_uploaded: true });
    expect(processed.metadata.thumbnail_key).toMatch(/\/uploaded-thumbnail\.png$/);
    const served = await fetch(`${t.url}/api/recordings/${id}/thumbnail`, { headers: alice.headers });
    expect(served.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await served.arrayBuffer()).equals(png)).toBe(true);

    const putAs = (who: User, type: string, body: Buffer) =>
      fetch(`${t.url}/api/recordings/${id}/thumbnail`, {
        method: 'PUT',
        headers: { ...who.headers, 'content-type': type },
        body: new Uint8Array(body),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as Json }));
    expect(await putAs(alice, 'text/plain', png)).toMatchObject({
      status: 415,
      body: { code: 'UNSUPPORTED_MEDIA_TYPE' },
    });
    expect(await putAs(alice, 'image/jpeg', Buffer.from('<svg/> pretending'))).toMatchObject({
      status: 415,
      body: { code: 'UNSUPPORTED_MEDIA_TYPE' },
    });
    const big = Buffer.concat([png, Buffer.alloc(2 * 1024 * 1024)]);
    expect(await putAs(alice, 'image/png', big)).toMatchObject({ status: 413, body: { code: 'PAYLOAD_TOO_LARGE' } });
    expect(await putAs(bob, 'image/png', png)).toMatchObject({ status: 404, body: { code: 'RECORDING_NOT_FOUND' } });
  }, 90_000);

  it('a finish cut off before its commit is redone by the next HEAD, claim included: one recording', async () => {
    const c = await connect(t.dbUrl);
    try {
      await c.query(`CREATE FUNCTION fail_commit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.title = 'Cut off' THEN RAISE EXCEPTION 'simulated outage'; END IF; RETURN NEW; END $$`);
      await c.query(
        'CREATE TRIGGER trg_fail_commit BEFORE INSERT ON recordings FOR EACH ROW EXECUTE FUNCTION fail_commit()',
      );
      const run = await startImport(bob);
      const meta = legacyMeta(run, { title: 'Cut off', legacyId: 'cut' });
      const created = await createUpload(t.url, bob.headers, meta, { length: bytes.length });
      const done = await patchUpload(created.location, bob.headers, 0, bytes);
      expect(done.status).toBeGreaterThanOrEqual(500);
      expect(await recordingsOf(bob.userId)).toBe(0);
      const { rows } = await c.query(`SELECT count(*)::int AS n FROM legacy_import_items WHERE legacy_id = 'cut'`);
      expect(rows[0].n).toBe(0); // the claim went with the failed transaction

      await c.query('DROP TRIGGER trg_fail_commit ON recordings');
      const head = await fetch(created.location, {
        method: 'HEAD',
        headers: { ...bob.headers, 'Tus-Resumable': '1.0.0' },
      });
      expect(head.headers.get('recording-id')).toMatch(/^\d+$/);
      expect(await recordingsOf(bob.userId)).toBe(1);
      const { items } = (await api(bob, 'GET', `/api/imports/${run}`)).body;
      expect(items).toEqual([
        expect.objectContaining({
          legacyId: 'cut',
          outcome: 'imported',
          recordingId: head.headers.get('recording-id'),
        }),
      ]);
    } finally {
      await c.query('DROP TRIGGER IF EXISTS trg_fail_commit ON recordings');
      await c.end();
    }
  });

  it('an import nothing happened to for 10 minutes reads as interrupted; its items stay', async () => {
    const run = await startImport(alice);
    await api(alice, 'POST', `/api/imports/${run}/skips`, {
      items: [{ legacySource: 'browser-take', legacyId: 'k', title: null, reason: 'IDB_MISSING', message: 'gone' }],
    });
    const c = await connect(t.dbUrl);
    try {
      // (the updated_at trigger would say now: this session does not fire triggers)
      await c.query('SET session_replication_role = replica');
      await c.query(`UPDATE legacy_imports SET updated_at = now() - interval '11 minutes' WHERE id = $1`, [run]);
    } finally {
      await c.end();
    }
    const { body } = await api(alice, 'GET', `/api/imports/${run}`);
    expect(body.import).toMatchObject({ status: 'interrupted', skipped: 1 });
  });
});
