/**
 * An upload the server refuses for good (issue 8, part 3): the take is never retried behind the
 * user's back, keep answers with the refusal at once (every time), the local copy stays and carries
 * the refusal across a reload, and only "Try again" sends it again, as a fresh upload. Also the first
 * slice of one byte (0x1a) that MediaRecorder sometimes emits: with the server judging only ≥ 64
 * bytes it uploads like any other take. Against an in-process stand-in for the server's take API
 * (support/fake-upload-server.ts, the upload contract as code), the real tus-js-client and
 * fake-indexeddb.
 */
import 'fake-indexeddb/auto';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { findUnfinishedTakes, recoverTake } from '../../src/web/persist/recovery.ts';
import { isRefusal } from '../../src/web/persist/refusal.ts';
import { TakeManager } from '../../src/web/persist/take-manager.ts';
import { TakeStore } from '../../src/web/persist/take-store.ts';
import {
  FakeUploadServer,
  type FakeUploadServerOptions,
  SliceRecorder,
  webmLikeBytes,
} from './support/fake-upload-server.ts';
import { until } from './support/until.ts';

const USER = 'user-1';
const PDF_MESSAGE = /^This file type is not accepted \(detected application\/pdf\)/;
const opened: { close(): unknown }[] = [];

afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close();
});

async function setup(o: FakeUploadServerOptions = {}) {
  const srv = await new FakeUploadServer(o).start();
  const store = await TakeStore.open(`recorder-${randomUUID()}`);
  opened.push(srv, store);
  const manager = () => {
    const m = new TakeManager({
      store,
      userId: USER,
      storage: 'server',
      baseUrl: srv.url,
      uploadRetryDelays: [0, 50, 100],
      maxBackoffMs: 100,
    });
    opened.push(m);
    return m;
  };
  return { srv, store, manager };
}

/** Bytes the server takes for a PDF: refused by its sniffing once it holds 64 of them. */
function pdfLikeBytes(size: number): Uint8Array {
  const b = webmLikeBytes(size);
  b.set(new TextEncoder().encode('%PDF-'), 0);
  return b;
}

const requests = (srv: FakeUploadServer, from = 0) =>
  srv
    .uploadRequests()
    .slice(from)
    .map((r) => `${r.method} ${r.status}`);

/** Records `bytes` as three slices; returns once the take is stopped. */
async function record(rec: SliceRecorder, bytes: Uint8Array): Promise<void> {
  const third = Math.ceil(bytes.byteLength / 3);
  for (let at = 0; at < bytes.byteLength; at += third) rec.slice(bytes.subarray(at, at + third));
  await rec.stop();
}

/** A take whose upload the server refused (its first slice is a PDF header), stopped and kept once. */
async function refusedTake() {
  const s = await setup();
  const m = s.manager();
  const rec = new SliceRecorder();
  const take = await m.begin(rec, { mode: 'camera', quality: 'low' });
  const bytes = pdfLikeBytes(3000);
  await record(rec, bytes);
  const kept = await m.keep(take.id, { title: 'Not media' });
  return { ...s, m, take, bytes, kept };
}

describe('an upload the server refuses for good', () => {
  it(
    'is refused once and never retried; keep answers with the refusal at ' + 'once, every time; the local copy stays',
    async () => {
      const { srv, store, manager } = await setup();
      const m = manager();
      const rec = new SliceRecorder();
      const take = await m.begin(rec, { mode: 'camera', quality: 'low' });
      const bytes = pdfLikeBytes(3000);
      rec.slice(bytes.subarray(0, 1000));
      const refused = await until('the refusal in the take status', () => m.status(take.id)?.refused);
      expect(refused.status).toBe(415);
      expect(refused.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect(refused.message).toMatch(PDF_MESSAGE);
      expect(m.status(take.id)?.serverReachable).toBe(true);
      // Stored with the take at once: a crash from here on still knows why.
      await until('the refusal stored with the take', async () => (await store.get(take.id))?.uploadRefused);

      // Recording goes on into IndexedDB; nothing more goes to the server.
      rec.slice(bytes.subarray(1000, 2000));
      rec.slice(bytes.subarray(2000));
      await rec.stop();
      const first = await m.keep(take.id, { title: 'Not media' });
      expect(first).toEqual({ localId: take.id, refused });
      const second = await m.keep(take.id, { title: 'Not media' });
      expect(second.refused).toEqual(refused);
      await sleep(500); // five times the longest backoff: a retry loop would show up here
      expect(requests(srv)).toEqual(['POST 201', 'PATCH 415']);

      const stored = await store.get(take.id);
      expect(stored).toMatchObject({ state: 'stopped', title: 'Not media', uploadRefused: refused, bytes: 3000 });
      expect(new Uint8Array(await (await store.blob(take.id)).arrayBuffer())).toEqual(bytes);
    },
  );

  it('is listed after a reload with its refusal, and nothing is sent until Try again', async () => {
    const { srv, store, m, take, kept } = await refusedTake();
    expect(kept.refused?.message).toMatch(PDF_MESSAGE);
    await m.close();
    const sent = srv.uploadRequests().length;

    const reloaded = new TakeManager({ store, userId: USER, storage: 'server', baseUrl: srv.url, maxBackoffMs: 100 });
    opened.push(reloaded);
    const list = await findUnfinishedTakes(store, USER, 'server', { client: reloaded.client });
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ localId: take.id, refused: kept.refused });
    expect(list[0]!.problem).toBeUndefined();
    // Keeping it again (as a stale page would) answers from IndexedDB: no request.
    expect((await reloaded.keep(take.id, { title: 'Again' })).refused).toEqual(kept.refused);
    expect(srv.uploadRequests().length).toBe(sent);
  });

  it('Try again sends one fresh upload on the same session; refused again, it says so again', async () => {
    const { srv, store, m, take } = await refusedTake();
    const session = (await store.get(take.id))!.sessionId;
    const sent = srv.uploadRequests().length;
    const list = await findUnfinishedTakes(store, USER, 'server', { client: m.client });
    const again = await recoverTake(store, m, list[0]!);
    expect(again.refused?.message).toMatch(PDF_MESSAGE);
    expect(requests(srv, sent)).toEqual(['POST 201', 'PATCH 415']);
    expect(srv.uploads.size).toBe(2);
    expect(new Set([...srv.uploads.values()].map((u) => u.sessionId))).toEqual(new Set([session]));
    expect((await store.get(take.id))?.uploadRefused?.message).toMatch(PDF_MESSAGE);

    const third = await m.retryUpload(take.id);
    expect(third.refused?.message).toMatch(PDF_MESSAGE);
    expect(requests(srv, sent)).toEqual(['POST 201', 'PATCH 415', 'POST 201', 'PATCH 415']);
  });

  it(
    'a HEAD answered 415 (the refusal was not stored before the page ' + 'died) is a refusal too, in plain words',
    async () => {
      const { srv, store, m, take } = await refusedTake();
      await m.close();
      await store.update(take.id, { uploadRefused: undefined });
      const sent = srv.uploadRequests().length;
      const reloaded = new TakeManager({ store, userId: USER, storage: 'server', baseUrl: srv.url, maxBackoffMs: 100 });
      opened.push(reloaded);
      const [listed] = await findUnfinishedTakes(store, USER, 'server', { client: reloaded.client });
      expect(listed?.refused).toBeUndefined();
      const r = await recoverTake(store, reloaded, listed!);
      expect(r.refused).toMatchObject({ status: 415, message: 'The server does not accept this file type (HTTP 415)' });
      expect(requests(srv, sent)).toEqual(['HEAD 415']);
      expect((await store.get(take.id))?.uploadRefused?.status).toBe(415);
    },
  );

  it('an upload the server loses twice is not created a third time', async () => {
    const { srv, manager } = await setup({ loseUploads: true });
    const m = manager();
    const rec = new SliceRecorder();
    const take = await m.begin(rec, { mode: 'camera', quality: 'low' });
    await record(rec, webmLikeBytes(3000));
    const r = await m.keep(take.id, { title: 'Lost' });
    expect(r.refused).toMatchObject({ status: 404 });
    expect(requests(srv)).toEqual(['POST 201', 'PATCH 404', 'POST 201', 'PATCH 404']);
  });
});

describe('answers that are not refusals', () => {
  it('a first slice of one byte (0x1a) goes alone in the first PATCH and the take becomes a recording', async () => {
    const { srv, store, manager } = await setup();
    const m = manager();
    const rec = new SliceRecorder();
    const take = await m.begin(rec, { mode: 'camera', quality: 'low' });
    const bytes = webmLikeBytes(3000);
    await until('the upload', () => srv.uploads.size === 1);
    rec.slice(bytes.subarray(0, 1));
    await until('the one-byte PATCH', () => srv.uploadRequests().find((x) => x.method === 'PATCH'));
    await record(rec, bytes.subarray(1));
    const r = await m.keep(take.id, { title: 'One byte first' });
    expect(r).toMatchObject({ verified: true });
    expect(r.refused).toBeUndefined();
    const patches = srv.uploadRequests().filter((x) => x.method === 'PATCH');
    expect(patches[0]).toMatchObject({ bytes: 1, status: 204 });
    expect(new Uint8Array(srv.recordings.get(r.recordingId!)!.bytes)).toEqual(bytes);
    expect(await store.get(take.id)).toBeUndefined();
  });

  it(
    'with the server before the fix (a 1-byte first PATCH refused), Try ' + 'again sends the whole take and it is kept',
    async () => {
      const { srv, store, manager } = await setup({ judgeEachFirstPatch: true });
      const m = manager();
      const rec = new SliceRecorder();
      const take = await m.begin(rec, { mode: 'camera', quality: 'low' });
      const bytes = webmLikeBytes(3000);
      await until('the upload', () => srv.uploads.size === 1);
      rec.slice(bytes.subarray(0, 1));
      await until('the refusal', () => m.status(take.id)?.refused);
      await record(rec, bytes.subarray(1));
      const kept = await m.keep(take.id, { title: 'Retried' });
      expect(kept.refused?.message).toMatch(/detected application\/octet-stream/);
      const r = await m.retryUpload(take.id);
      expect(r).toMatchObject({ verified: true });
      expect(new Uint8Array(srv.recordings.get(r.recordingId!)!.bytes)).toEqual(bytes);
      expect(await store.get(take.id)).toBeUndefined();
    },
  );

  it('a 503 is transient: retried, and the take becomes a recording', async () => {
    const { srv, manager } = await setup();
    srv.failNextPatches.push(503);
    const m = manager();
    const rec = new SliceRecorder();
    const take = await m.begin(rec, { mode: 'camera', quality: 'low' });
    await record(rec, webmLikeBytes(3000));
    const r = await m.keep(take.id, { title: 'Busy server' });
    expect(r).toMatchObject({ verified: true });
    expect(srv.uploadRequests().some((x) => x.method === 'PATCH' && x.status === 503)).toBe(true);
  });

  it('a 503 at the HEAD after a failed PATCH resumes the same upload: the take is never sent twice', async () => {
    // tus-js-client, given an endpoint, answers any non-2xx HEAD by creating a NEW upload (database outage).
    const { srv, manager } = await setup();
    srv.failNextPatches.push(503);
    srv.failNextHeads.push(503, 503);
    const m = manager();
    const rec = new SliceRecorder();
    const take = await m.begin(rec, { mode: 'camera', quality: 'low' });
    const bytes = webmLikeBytes(3000);
    await record(rec, bytes);
    expect(await m.keep(take.id, { title: 'Database away' })).toMatchObject({ verified: true });
    expect(srv.uploadRequests().filter((x) => x.method === 'POST')).toHaveLength(1);
    expect(srv.uploadRequests().some((x) => x.method === 'HEAD' && x.status === 503)).toBe(true);
    expect([...srv.recordings.values()].map((r) => r.bytes.length)).toEqual([bytes.byteLength]);
  });

  it('only 400, 403, 413, 415, 422 and UPLOAD_NOT_FINISHABLE are refusals', () => {
    for (const status of [400, 403, 413, 415, 422]) expect(isRefusal(status, `HTTP_${status}`)).toBe(true);
    expect(isRefusal(409, 'UPLOAD_NOT_FINISHABLE')).toBe(true);
    for (const status of [0, 401, 404, 408, 409, 410, 423, 429, 500, 503])
      expect(isRefusal(status, `HTTP_${status}`)).toBe(false);
  });
});
