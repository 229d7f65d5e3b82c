/**
 * Two Recorder server processes on one PostgreSQL database and one storage, as docs/scaling.md runs
 * them, for each storage provider (local: one shared DATA_DIR; s3: one s3rver bucket, each server with
 * a DATA_DIR of its own, so nothing on a server's disk can carry an upload to the other). Requests go
 * to either server as a load balancer without sticky sessions would send them:
 * - a session made on one server is a session on the other, also after that one crashed;
 * - a tus upload whose PATCHes alternate between the servers, one of them killed with kill -9 in the
 *   middle of a PATCH and restarted, ends as a recording byte-identical to the source;
 * - two PATCHes at the same offset at the same moment on the two servers: one is taken, one refused.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Readable, Transform } from 'node:stream';
import * as tus from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiUser } from '../bench/lib/child-server.js';
import { fileSource } from '../bench/lib/tus-client.js';
import { signUp, TEST_PASSWORD } from './support/app.js';
import { type Cluster, type MediaFile, makeLargeWebm, RoundRobinStack, startCluster } from './support/cluster.js';
import { freshDatabase, pgTargets } from './support/db.js';
import { createDeferredUpload, head, patch } from './support/sessions.js';

const MiB = 1024 * 1024;
/** A few MiB: below S3's 5 MiB part minimum, so the s3 store must also carry pending bytes across servers. */
const CHUNK = 4 * MiB;
const PASSWORD = TEST_PASSWORD;

let media: MediaFile;
let mediaDir: string;
beforeAll(async () => {
  mediaDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-cluster-media-'));
  media = await makeLargeWebm(mediaDir, 6); // ~34 MB
});
afterAll(() => fs.rmSync(mediaDir, { recursive: true, force: true }));

type Headers = Record<string, string>;

async function me(url: string, cookie: string): Promise<{ status: number; userId?: string }> {
  const res = await fetch(`${url}/api/auth/me`, { headers: { cookie } });
  const body = (await res.json()) as { user?: { id: string } };
  return { status: res.status, userId: body.user?.id };
}

async function signIn(url: string, email: string): Promise<string> {
  const res = await fetch(`${url}/api/auth/signin`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: url },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  expect(res.status).toBe(200);
  return res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
}

/** The recording's stored bytes through the API of the server at `url`: their size and SHA-256. */
async function downloaded(url: string, headers: Headers, recordingId: string) {
  const res = await fetch(`${url}/api/recordings/${recordingId}/media`, { headers });
  expect(res.status).toBe(200);
  const bytes = Buffer.from(await res.arrayBuffer());
  return { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

type SizedStream = Readable & { size: number };

/**
 * The body of one PATCH, which calls `kill` once half of it has gone out and passes nothing more on
 * until the kill is done: the server dies with the request half-received, before it could answer.
 */
function killHalfway(body: SizedStream, kill: () => Promise<void>): SizedStream {
  let passed = 0;
  let fired = false;
  const out = new Transform({
    transform(piece: Buffer, _enc, done) {
      passed += piece.length;
      if (fired || passed < body.size / 2) return done(null, piece);
      fired = true;
      // The rest of the body has nowhere to go: its file stream is closed rather than left open.
      kill().then(() => {
        done(null, piece);
        body.destroy();
      }, done);
    },
  });
  body.on('error', (err) => out.destroy(err));
  return Object.assign(body.pipe(out), { size: body.size });
}

/**
 * The upload of the test below: the third PATCH (the second to server 1) kills server 1 halfway
 * through its body, and server 1 is restarted at once. The chunk resumed after the kill goes out at
 * once (to server 0, the only one up); the chunks after it wait until server 1 is back (a live
 * recording goes on producing them meanwhile), so the restarted server takes PATCHes of it too.
 */
async function uploadThroughCrash(cluster: Cluster, headers: Headers) {
  let killed = false;
  let restarted: Promise<void> | undefined;
  let slicesAfterKill = 0;
  let patchesToServer1 = 0;
  const kill = () => {
    killed = true;
    const gone = cluster.kill9(1);
    restarted = gone.then(() => cluster.restart(1));
    return gone;
  };
  const stack = new RoundRobinStack(cluster, {
    body: (method, server, body) =>
      method === 'PATCH' && server === 1 && ++patchesToServer1 === 2 ? killHalfway(body as SizedStream, kill) : body,
  });
  const recordingId = await new Promise<string>((resolve, reject) => {
    const upload = new tus.Upload(Buffer.alloc(0), {
      endpoint: `${cluster.url(0)}/api/uploads`,
      httpStack: stack,
      fileReader: fileSource(media.file, media.size, async () => {
        if (killed && ++slicesAfterKill > 1) await restarted;
      }),
      headers,
      metadata: { filename: 'crash.webm', recordingType: 'screen', title: 'through a crash' },
      chunkSize: CHUNK,
      retryDelays: [0, 250, 500, 1000, 2000, 4000],
      onSuccess: ({ lastResponse }) => resolve(lastResponse.getHeader('Recording-Id') ?? ''),
      onError: reject,
    });
    upload.start();
  }).catch((err: Error) => {
    throw new Error(`${err.message}\nrequests: ${JSON.stringify(stack.outcomes)}`);
  });
  await restarted;
  return { recordingId, outcomes: stack.outcomes };
}

describe.each(['local', 's3'] as const)('two app servers on one database, %s storage', (provider) => {
  let cluster: Cluster;
  let dropDatabase: () => Promise<void>;
  beforeAll(async () => {
    const db = await freshDatabase(pgTargets()[0]!);
    dropDatabase = db.drop;
    // local: both servers start at the same moment on the fresh database (migrations, job queues).
    cluster = await startCluster({ databaseUrl: db.url, provider, size: 2, startTogether: provider === 'local' });
  });
  afterAll(async () => {
    await cluster?.close();
    await dropDatabase?.();
  });

  it('both servers are ready, however they were started on the fresh database', async () => {
    for (const i of [0, 1]) expect((await fetch(`${cluster.url(i)}/ready`)).status).toBe(200);
  });

  it('a session made on one server is one on the other, also across a crash of that server', async () => {
    const [url0, url1] = [cluster.url(0), cluster.url(1)];
    const user = await signUp(url0, 'roaming');
    expect(await me(url1, user.cookie)).toEqual({ status: 200, userId: user.userId });

    const cookie = await signIn(url1, user.email);
    expect(await me(url0, cookie)).toEqual({ status: 200, userId: user.userId });
    const signOut = await fetch(`${url0}/api/auth/signout`, { method: 'POST', headers: { cookie, origin: url0 } });
    expect(signOut.status).toBe(204);
    expect((await me(url1, cookie)).status).toBe(401); // signed out on one server: out on both

    const pid = cluster.pid(1);
    await cluster.kill9(1);
    await expect(fetch(`${url1}/health`)).rejects.toThrow();
    await cluster.restart(1);
    expect(cluster.pid(1)).not.toBe(pid);
    expect(cluster.url(1)).toBe(url1);
    expect(await me(url1, user.cookie)).toEqual({ status: 200, userId: user.userId });
  });

  it('an upload over both servers, one killed with kill -9 mid-PATCH and restarted, is stored whole', async () => {
    const user = await apiUser(cluster.url(0), 'crash');
    const { recordingId, outcomes } = await uploadThroughCrash(cluster, user.headers);
    expect(recordingId).toMatch(/^\d+$/);
    // Server 1 took a chunk, then died in the middle of the next one; server 0 told the client where to
    // go on from; the restarted server 1 took chunks of the same upload again; nothing else failed.
    const crash = outcomes.findIndex((o) => o.status === 'network error');
    const patchesTo1 = (from: number, to?: number) =>
      outcomes.slice(from, to).flatMap((o) => (o.method === 'PATCH' && o.server === 1 ? [o.status] : []));
    expect(outcomes[crash], JSON.stringify(outcomes)).toMatchObject({ method: 'PATCH', server: 1 });
    expect(patchesTo1(0, crash)).toEqual([204]);
    expect(outcomes[crash + 1]).toEqual({ method: 'HEAD', server: 0, status: 200 });
    expect(patchesTo1(crash + 1)).toContain(204);
    expect(outcomes.slice(crash + 1).every((o) => o.status === 204 || o.status === 200)).toBe(true);

    for (const i of [0, 1]) {
      expect(await downloaded(cluster.url(i), user.headers, recordingId)).toEqual({
        size: media.size,
        sha256: media.sha256,
      });
    }
  });

  it('two PATCHes at the same offset at the same moment on both servers: one 204, one 409, bytes intact', async () => {
    const user = await apiUser(cluster.url(0), 'race');
    const created = await createDeferredUpload(cluster.url(0), user.headers, {
      filename: 'race.webm',
      recordingType: 'screen',
      title: 'raced',
    });
    expect(created.status).toBe(201);
    const on = (i: number) => created.uploadUrl.replace(cluster.url(0), cluster.url(i));
    const bytes = fs.readFileSync(media.file);
    const first = bytes.subarray(0, 6 * MiB);

    const raced = await Promise.all([0, 1].map((i) => patch(on(i), user.headers, 0, first)));
    expect(raced.map((r) => r.status).sort()).toEqual([204, 409]);
    const taken = raced.find((r) => r.status === 204)!;
    expect(taken.offset).toBeGreaterThan(0);
    for (const i of [0, 1])
      expect(await head(on(i), user.headers)).toMatchObject({ status: 200, offset: String(taken.offset) });

    const rest = await patch(on(1), user.headers, taken.offset, bytes.subarray(taken.offset), bytes.length);
    expect(rest, rest.body).toMatchObject({ status: 204, recordingId: expect.stringMatching(/^\d+$/) });
    expect(await downloaded(cluster.url(0), user.headers, rest.recordingId!)).toEqual({
      size: media.size,
      sha256: media.sha256,
    });
  });
});
