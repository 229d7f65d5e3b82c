/**
 * Reads and deletes follow the row (issue 10, items 1 and 6), over real servers restarted on one
 * database and DATA_DIR beside one s3rver, as an operator switching STORAGE_PROVIDER would run them:
 * A (local) takes an upload and stops before processing it; B (s3) processes it where its row says and
 * takes an upload of its own; C (local) plays both; D (local, CDN signing and S3 presigning on) hands out
 * only expiring redirects, answers 503 for a row in a bucket it has no settings for, drains deletions
 * from each row's storage and sweeps both storages. The its run in order and share that state.
 * Not dependent on the PostgreSQL version: one target.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/server/config.js';
import { drainDeletions, sweep } from '../src/server/jobs/storage-maintenance.js';
import { createLogger } from '../src/server/logger.js';
import { type RunningServer, startServer } from '../src/server/server.js';
import { createStorageRegistry } from '../src/server/storage/factory.js';
import { recordingKey } from '../src/server/storage/keys.js';
import { secureLinkUrl } from '../src/server/storage/media-urls.js';
import { StorageNotConfiguredError } from '../src/server/storage/registry.js';
import { type MediaFixtures, makeMediaFixtures } from './support/media-fixtures.js';
import { connect, freshDatabase, pgTargets } from './support/db.js';
import { call, insertRecording, sha256, waitFor } from './support/recordings-fixtures.js';
import { type S3rverHandle, startS3rver } from './support/s3rver.js';
import { signUp } from './support/app.js';
import { createUpload, patchUpload } from './support/tus-http.js';

const logger = createLogger((process.env.TEST_LOG_LEVEL as 'info') ?? 'silent');
const CDN = 'https://cdn.example.com/media/';
const SIGNING_KEY = 'test-signing-key-0123456789';

type User = Awaited<ReturnType<typeof signUp>>;
interface Uploaded {
  id: string;
  bytes: Buffer;
  key: string;
}

/** What nginx's secure_link does with `secure_link_md5 "$secure_link_expires$uri <key>"` (docs/storage.md). */
function secureLinkVerdict(location: string, secret: string, nowSeconds: number): 'ok' | 'forbidden' | 'expired' {
  const url = new URL(location);
  const md5 = url.searchParams.get('md5') ?? '';
  const expires = url.searchParams.get('expires') ?? '';
  const expected = createHash('md5').update(`${expires}${url.pathname} ${secret}`).digest();
  if (!Buffer.from(md5, 'base64url').equals(expected)) return 'forbidden'; // nginx: $secure_link = "" -> 403
  return Number(expires) < nowSeconds ? 'expired' : 'ok'; // nginx: $secure_link = "0" -> 410
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * A GET on a connection of its own, closed after the answer. A streamed answer ends (res.end) just after
 * its last bytes reach the client; a keep-alive connection still busy when the server stops would hold
 * its close until the keep-alive timeout.
 */
function get(base: string, path: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}${path}`, { agent: false, headers: { ...headers, connection: 'close' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

const json = (answer: Answer) => JSON.parse(answer.body.toString('utf8'));

describe('the storage registry and the CDN token, without a server', () => {
  const s3Env = { S3_BUCKET: 'media', S3_ACCESS_KEY_ID: 'id', S3_SECRET_ACCESS_KEY: 'secret', S3_REGION: 'eu-west-3' };

  it('finds a row by provider and bucket (not region); an s3 row without a bucket is in the configured one', () => {
    const both = createStorageRegistry(loadConfig({ ...s3Env, STORAGE_PROVIDER: 's3' }, os.tmpdir()));
    expect(both.all().map((storage) => storage.provider)).toEqual(['s3', 'local']);
    expect(both.forLocation({ provider: 'local', bucket: null, region: null })).toBe(both.byProvider('local'));
    for (const location of [
      { provider: 's3' as const, bucket: 'media', region: 'us-east-1' },
      { provider: 's3' as const, bucket: null, region: null },
    ])
      expect(both.forLocation(location)).toBe(both.primary);
    expect(() => both.forLocation({ provider: 's3', bucket: 'old-media', region: 'eu-west-3' })).toThrow(
      StorageNotConfiguredError,
    );
    const localOnly = createStorageRegistry(loadConfig({}, os.tmpdir()));
    expect(localOnly.all().map((storage) => storage.provider)).toEqual(['local']);
    expect(() => localOnly.forLocation({ provider: 's3', bucket: 'media', region: null })).toThrow(
      'no storage configured for s3 bucket "media"',
    );
  });

  it("signs CDN links as nginx's secure_link documentation computes them", () => {
    // nginx docs: echo -n '2147483647/s/link127.0.0.1 secret' | openssl md5 -binary | openssl base64 | tr +/ -_
    const link = secureLinkUrl('https://cdn.example.com/s/', 'link127.0.0.1', 'secret', 2147483647);
    expect(link).toBe('https://cdn.example.com/s/link127.0.0.1?md5=_e4Nc3iduzkWRm01TBBNYw&expires=2147483647');
  });
});

describe.each(pgTargets().slice(0, 1))('storage reads follow the row on $name', (target) => {
  let s3: S3rverHandle;
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let sql: pg.Client;
  let dataDir: string;
  let fx: MediaFixtures;
  let server: RunningServer | undefined;
  let owner: User;
  let local: Uploaded; // uploaded while STORAGE_PROVIDER=local
  let inS3: Uploaded; // uploaded while STORAGE_PROVIDER=s3

  /** Stops the running server, then starts one on the same database, DATA_DIR and s3rver with `env`. */
  async function restart(env: Record<string, string>): Promise<RunningServer> {
    await server?.stop();
    server = undefined;
    const config = loadConfig({
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      S3_ENDPOINT: s3.endpoint,
      S3_BUCKET: s3.bucket,
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      ...env,
    });
    server = await startServer(config, logger);
    return server;
  }

  const as = (user: User, url: string) => ({ cookie: user.cookie, origin: url });

  async function upload(url: string, file: string): Promise<Uploaded> {
    const bytes = fs.readFileSync(file);
    const up = await createUpload(url, as(owner, url), { recordingType: 'camera' }, { length: bytes.length });
    expect(up.status).toBe(201);
    const done = await patchUpload(up.location, as(owner, url), 0, bytes);
    expect(done.status).toBe(204);
    const id = done.headers.get('recording-id')!;
    const { rows } = await sql.query('SELECT storage_key FROM recordings WHERE id = $1', [id]);
    return { id, bytes, key: rows[0].storage_key };
  }

  /** The recording's status once processing has left it (completed or failed). */
  async function processed(url: string, id: string): Promise<string> {
    const status = async () => json(await get(url, `/api/recordings/${id}`, as(owner, url))).status as string;
    return waitFor(
      async () => {
        const now = await status();
        return now === 'processing' ? undefined : now;
      },
      30_000,
      'processing',
    );
  }

  /** Plays as a <video> would: a Range request (206, the exact bytes), then the whole file; and the thumbnail. */
  async function expectPlays(url: string, rec: Uploaded) {
    const media = `/api/recordings/${rec.id}/media`;
    const part = await get(url, media, { ...as(owner, url), range: 'bytes=100-1099' });
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 100-1099/${rec.bytes.length}`);
    expect(part.body.equals(rec.bytes.subarray(100, 1100))).toBe(true);
    const whole = await get(url, media, as(owner, url));
    expect(whole.status).toBe(200);
    expect(sha256(whole.body)).toBe(sha256(rec.bytes));
    const thumbnail = await get(url, `/api/recordings/${rec.id}/thumbnail`, as(owner, url));
    expect(thumbnail.status).toBe(200);
    expect(thumbnail.headers['content-type']).toBe('image/jpeg');
    expect(thumbnail.body.subarray(0, 2).toString('hex')).toBe('ffd8'); // a JPEG
  }

  beforeAll(async () => {
    [s3, db, fx] = await Promise.all([startS3rver(), freshDatabase(target), makeMediaFixtures()]);
    sql = await connect(db.url);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-rows-'));
  });

  afterAll(async () => {
    await server?.stop();
    await sql?.end();
    await db?.drop();
    await s3?.stop();
    fx?.cleanup();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('a recording uploaded with STORAGE_PROVIDER=local is processed and plays after a switch to s3', async () => {
    // A: takes the upload; its jobs are off, so processing is left to the next server
    const a = await restart({ STORAGE_PROVIDER: 'local', JOBS_ENABLED: 'false' });
    owner = await signUp(a.url, 'owner');
    local = await upload(a.url, fx.webm);
    expect(fs.existsSync(path.join(dataDir, 'media', ...local.key.split('/')))).toBe(true);

    const b = await restart({ STORAGE_PROVIDER: 's3' });
    expect(await processed(b.url, local.id)).toBe('completed'); // read from local, where its row says
    await expectPlays(b.url, local);
    inS3 = await upload(b.url, fx.mp4);
    expect(await processed(b.url, inS3.id)).toBe('completed');
    const { rows } = await sql.query('SELECT id::text, storage_provider, storage_bucket FROM recordings ORDER BY id');
    expect(rows).toEqual([
      { id: local.id, storage_provider: 'local', storage_bucket: null },
      { id: inS3.id, storage_provider: 's3', storage_bucket: s3.bucket },
    ]);
  });

  it('and the reverse: a recording uploaded with STORAGE_PROVIDER=s3 plays after a switch back to local', async () => {
    const c = await restart({ STORAGE_PROVIDER: 'local' });
    await expectPlays(c.url, inS3);
    await expectPlays(c.url, local);
  });

  it('redirects only to URLs that expire: a CDN link nginx secure_link accepts, an S3 presigned GET', async () => {
    const d = await restart({
      STORAGE_PROVIDER: 'local',
      CDN_BASE_URL: CDN,
      CDN_SIGNING_KEY: SIGNING_KEY,
      CDN_URL_TTL_SECONDS: '2',
      S3_PRESIGN: 'true',
      S3_PRESIGN_TTL_SECONDS: '2',
    });
    const stranger = await signUp(d.url, 'stranger');
    for (const rec of [local, inS3]) {
      const denied = await get(d.url, `/api/recordings/${rec.id}/media`, stranger.headers);
      expect([denied.status, json(denied).code, denied.headers.location]).toEqual([
        404,
        'RECORDING_NOT_FOUND',
        undefined,
      ]);
    }
    // local is the primary storage, which the CDN fronts: a signed link
    const cdn = await get(d.url, `/api/recordings/${local.id}/media`, as(owner, d.url));
    expect(cdn.status).toBe(302);
    expect(cdn.headers['cache-control']).toBe('private, no-store');
    const link = cdn.headers.location!;
    expect(link.startsWith(`${CDN}${local.key}?md5=`)).toBe(true);
    const expires = Number(new URL(link).searchParams.get('expires'));
    expect(expires - nowSeconds()).toBeGreaterThanOrEqual(1);
    expect(expires - nowSeconds()).toBeLessThanOrEqual(2);
    expect(secureLinkVerdict(link, SIGNING_KEY, nowSeconds())).toBe('ok');
    expect(secureLinkVerdict(link.replace('original', 'thumbnail'), SIGNING_KEY, nowSeconds())).toBe('forbidden');
    expect(secureLinkVerdict(link.replace(`expires=${expires}`, `expires=${expires + 3600}`), SIGNING_KEY, 0)).toBe(
      'forbidden',
    );
    const thumbnail = await get(d.url, `/api/recordings/${local.id}/thumbnail`, as(owner, d.url));
    expect(secureLinkVerdict(thumbnail.headers.location!, SIGNING_KEY, nowSeconds())).toBe('ok');

    // s3 is not behind the CDN: a presigned GET, which s3rver checks as S3 does
    const presigned = await get(d.url, `/api/recordings/${inS3.id}/media`, as(owner, d.url));
    expect(presigned.status).toBe(302);
    const signedUrl = presigned.headers.location!;
    expect(new URL(signedUrl).searchParams.get('X-Amz-Expires')).toBe('2');
    const fetched = await fetch(signedUrl);
    expect([fetched.status, fetched.headers.get('content-type')]).toEqual([200, 'video/mp4']);
    expect(sha256(Buffer.from(await fetched.arrayBuffer()))).toBe(sha256(inS3.bytes));
    const api = await get(d.url, `/api/recordings/${inS3.id}`, as(owner, d.url));
    expect(json(api).mediaUrl).toBe(`/api/recordings/${inS3.id}/media`); // never a URL that outlives the check

    // both stop working once their time is up
    await waitFor(async () => (await fetch(signedUrl)).status === 403, 10_000, 'the presigned GET to expire');
    await waitFor(async () => nowSeconds() > expires, 10_000, 'the CDN link to expire');
    expect(secureLinkVerdict(link, SIGNING_KEY, nowSeconds())).toBe('expired');
  });

  it('a row in a storage without settings here: 503 STORAGE_NOT_CONFIGURED; its outbox entry stays', async () => {
    const d = server!;
    const elsewhere = await insertRecording(sql, { userId: owner.userId });
    const key = recordingKey(owner.userId, elsewhere, 'webm');
    await sql.query(
      `UPDATE recordings SET storage_provider = 's3', storage_bucket = 'retired-bucket', storage_key = $2
       WHERE id = $1`,
      [elsewhere, key],
    );
    const res = await get(d.url, `/api/recordings/${elsewhere}/media`, as(owner, d.url));
    expect([res.status, json(res).code]).toEqual([503, 'STORAGE_NOT_CONFIGURED']);
    expect(json(res).message).not.toContain('retired-bucket');

    await sql.query('DELETE FROM recordings WHERE id = $1', [elsewhere]); // its trigger queues the prefix
    const drained = await drainDeletions({ db: d.database.db, storage: d.storages, logger });
    expect(drained.unconfigured).toEqual([{ provider: 's3', bucket: 'retired-bucket', entries: 1 }]);
    const { rows } = await sql.query(
      `SELECT storage_key FROM storage_deletions WHERE storage_bucket = 'retired-bucket'`,
    );
    expect(rows).toEqual([{ storage_key: `users/${owner.userId}/recordings/${elsewhere}/` }]);
    await sql.query(`DELETE FROM storage_deletions WHERE storage_bucket = 'retired-bucket'`);
  });

  it('sweeps both storages, and deleting a recording drains its objects from the storage it is in', async () => {
    const d = server!;
    const primary = d.storages.primary;
    const s3Storage = d.storages.byProvider('s3')!;
    const orphanHere = recordingKey(owner.userId, '990001', 'webm');
    const orphanThere = recordingKey(owner.userId, '990002', 'webm');
    await primary.put(orphanHere, Readable.from([Buffer.from('orphan in local')]));
    await s3Storage.put(orphanThere, Readable.from([Buffer.from('orphan in s3')]));
    await s3Storage.put(local.key, Readable.from([local.bytes])); // a stray copy of a local recording
    const deps = { db: d.database.db, storage: d.storages, logger };
    const later = new Date(Date.now() + 2 * 3_600_000); // everything is past the grace period
    const dry = await sweep(deps, { dryRun: true, now: later });
    expect([...dry.orphans].sort()).toEqual([local.key, orphanHere, orphanThere].sort());
    expect(dry.missing).toEqual([]);
    expect(dry.storages?.map((part) => [part.provider, part.bucket, part.orphans.length])).toEqual([
      ['local', null, 1],
      ['s3', s3.bucket, 2],
    ]);
    const swept = await sweep(deps, { dryRun: false, now: later });
    expect(swept.deleted).toBe(3);
    expect(await primary.exists(local.key)).toBe(true); // the copy its row points at stays

    for (const rec of [local, inS3]) {
      expect((await call(d.url, 'DELETE', `/api/recordings/${rec.id}`, as(owner, d.url))).status).toBe(204);
    }
    const gone = async () => !(await primary.exists(local.key)) && !(await s3Storage.exists(inS3.key));
    await waitFor(gone, 15_000, 'the deletion job to drain both storages');
    const thumbnails = [
      `users/${owner.userId}/recordings/${local.id}/`,
      `users/${owner.userId}/recordings/${inS3.id}/`,
    ];
    const left = async (prefix: string) => {
      const keys: string[] = [];
      for (const storage of d.storages.all()) for await (const object of storage.list(prefix)) keys.push(object.key);
      return keys;
    };
    for (const prefix of thumbnails) expect(await left(prefix)).toEqual([]);
    const clean = await sweep(deps, { dryRun: true, now: later });
    expect([clean.orphans, clean.missing]).toEqual([[], []]);
  });
});
