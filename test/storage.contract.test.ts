/**
 * One contract, both providers: local on a temp directory, s3 against s3rver (a real S3 HTTP server,
 * signatures checked). Storages are built from environment variables through loadConfig and
 * createStorage, as the server builds them. Payloads are pseudo-random from a seed and compared by
 * SHA-256, so a dropped, added, reordered or framed (aws-chunked) byte fails.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/server/config.js';
import { createLogger } from '../src/server/logger.js';
import { createStorageRegistry } from '../src/server/storage/factory.js';
import { InvalidKeyError, recordingKey, recordingPrefix, thumbnailKey } from '../src/server/storage/keys.js';
import { LocalStorage } from '../src/server/storage/local.js';
import { S3Storage } from '../src/server/storage/s3.js';
import {
  NotFoundError,
  RangeNotSatisfiableError,
  SizeMismatchError,
  type Storage,
} from '../src/server/storage/storage.js';
import { startS3rver, type S3rverHandle } from './support/s3rver.js';

const MiB = 1024 * 1024;
const CDN = 'https://cdn.example.com/media';

/** `total` bytes of xorshift32 output from `seed`, in chunks; the same arguments give the same bytes. */
function* pattern(total: number, seed: number, chunk = 256 * 1024): Generator<Buffer> {
  let x = seed >>> 0 || 1;
  for (let done = 0; done < total; ) {
    const n = Math.min(chunk, total - done);
    const b = Buffer.allocUnsafe(n + 3); // room for the last whole word; sliced off below
    for (let i = 0; i < n; i += 4) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      b.writeUInt32LE(x >>> 0, i);
    }
    done += n;
    yield b.subarray(0, n);
  }
}
const bytes = (total: number, seed: number) => Buffer.concat([...pattern(total, seed)]);
function sha(chunks: Iterable<Buffer>): string {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return h.digest('hex');
}

const readAll = async (body: Readable): Promise<Buffer> => Buffer.concat((await body.toArray()) as Buffer[]);
const drain = async (body: Readable) => readAll(body).then((b) => ({ sha256: sha([b]), size: b.length }));
async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** A stream that yields `good` bytes and then fails, like an upload whose client went away. */
function failingAfter(good: number, seed: number): Readable {
  const chunks = pattern(good, seed);
  return new Readable({
    read() {
      const next = chunks.next();
      if (next.done) this.destroy(new Error('client went away'));
      else this.push(next.value);
    },
  });
}

let seq = 0;
const nextKey = (user = 'contract') => recordingKey(user, String(++seq), 'webm');

describe.each(['local', 's3'] as const)('storage contract: %s', (kind) => {
  let storage: Storage;
  let plain: Storage; // same provider, no CDN_BASE_URL
  let tmp: string;
  let s3: S3rverHandle | undefined;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-storage-'));
    let env: Record<string, string> = { DATA_DIR: tmp };
    if (kind === 's3') {
      s3 = await startS3rver();
      env = {
        STORAGE_PROVIDER: 's3',
        S3_ENDPOINT: s3.endpoint,
        S3_BUCKET: s3.bucket,
        S3_ACCESS_KEY_ID: s3.accessKeyId,
        S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      };
    }
    storage = createStorageRegistry(loadConfig({ ...env, CDN_BASE_URL: CDN }, tmp), createLogger('silent')).primary;
    plain = createStorageRegistry(loadConfig(env, tmp), createLogger('silent')).primary;
    expect(storage.provider).toBe(kind);
  });

  afterAll(async () => {
    for (const s of [storage, plain]) if (s instanceof S3Storage) s.client.destroy();
    await s3?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('round-trips a small object byte for byte, with its size, hash and content type', async () => {
    const key = nextKey();
    const data = bytes(100_003, 1);
    const put = await storage.put(key, Readable.from([data]), { size: data.length, contentType: 'video/webm' });
    expect(put).toEqual({ size: data.length, sha256: sha([data]) });
    const got = await storage.get(key);
    expect(got.size).toBe(data.length);
    expect(got.contentType).toBe('video/webm');
    expect(got.range).toBeUndefined();
    expect((await readAll(got.body)).equals(data)).toBe(true);
  });

  it('round-trips a 12 MiB stream of unknown size (multipart on s3) byte for byte', async () => {
    const key = nextKey();
    const total = 12 * MiB + 12_345;
    const put = await storage.put(key, Readable.from(pattern(total, 2)));
    const expected = sha(pattern(total, 2));
    expect(put).toEqual({ size: total, sha256: expected });
    const got = await storage.get(key);
    expect(got.size).toBe(total);
    expect(await drain(got.body)).toEqual({ size: total, sha256: expected });
  });

  it('a source that ends only after its last byte was sent still gets its hash', async () => {
    // The server may answer a PUT with a Content-Length as soon as the last byte arrives, before the source
    // has said it ended: the hash is only final once the source has ended.
    const key = nextKey();
    const data = bytes(50_001, 7);
    let endSource: () => void = () => undefined;
    const lateEnd = new Readable({ read() {} });
    lateEnd.push(data);
    const ended = new Promise<void>((resolve) => {
      endSource = () => {
        lateEnd.push(null);
        resolve();
      };
    });
    const put = storage.put(key, lateEnd, { size: data.length });
    // End the source once the object is stored (or after a second, for a storage that waits for the end).
    const stored = (async () => {
      const deadline = Date.now() + 1000;
      while (!(await storage.exists(key)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      endSource();
    })();
    expect(await put).toEqual({ size: data.length, sha256: sha([data]) });
    await stored;
    await ended;
  });

  it('puts a file by path, and an empty object', async () => {
    const file = path.join(tmp, 'upload.bin');
    const data = bytes(777_777, 3);
    fs.writeFileSync(file, data);
    const key = nextKey();
    expect(await storage.put(key, file)).toEqual({ size: data.length, sha256: sha([data]) });
    expect((await readAll((await storage.get(key)).body)).equals(data)).toBe(true);
    await expect(storage.put(nextKey(), path.join(tmp, 'no-such-file'))).rejects.toThrow(/ENOENT/);
    await expect(storage.put(nextKey(), path.join(tmp, 'no-such-file'), { size: 10 })).rejects.toThrow(/ENOENT/);
    const empty = nextKey();
    expect((await storage.put(empty, Readable.from([]), { size: 0 })).size).toBe(0);
    const got = await storage.get(empty);
    expect(got.size).toBe(0);
    expect((await readAll(got.body)).length).toBe(0);
    await expect(storage.get(empty, { start: 0, end: 0 })).rejects.toBeInstanceOf(RangeNotSatisfiableError);
  });

  it('serves ranges: first bytes, middle, last byte, an end past the object (clamped)', async () => {
    const key = nextKey();
    const data = bytes(1_000_001, 4);
    await storage.put(key, Readable.from([data]), { size: data.length });
    const n = data.length;
    for (const [start, end, servedEnd] of [
      [0, 9, 9],
      [0, 0, 0],
      [400_000, 600_000, 600_000],
      [n - 1, n - 1, n - 1],
      [n - 10, n + 1000, n - 1],
    ] as const) {
      const got = await storage.get(key, { start, end });
      expect(got.size).toBe(n);
      expect(got.range).toEqual({ start, end: servedEnd });
      const body = await readAll(got.body);
      expect(body.length).toBe(servedEnd - start + 1);
      expect(body.equals(data.subarray(start, servedEnd + 1))).toBe(true);
    }
    await expect(storage.get(key, { start: n, end: n + 5 })).rejects.toBeInstanceOf(RangeNotSatisfiableError);
    await expect(storage.get(key, { start: 5, end: 2 })).rejects.toThrow(/invalid byte range 5-2/);
    await expect(storage.get(key, { start: -1, end: 2 })).rejects.toThrow(RangeError);
  });

  it('stat and exists see an object; missing keys are NotFoundError', async () => {
    const key = nextKey();
    const before = Date.now();
    await storage.put(key, Readable.from([bytes(4096, 5)]));
    const st = await storage.stat(key);
    expect(st).toMatchObject({ key, size: 4096, contentType: 'video/webm' });
    expect(Math.abs(st.lastModified.getTime() - before)).toBeLessThan(60_000);
    expect(await storage.exists(key)).toBe(true);
    const missing = nextKey();
    expect(await storage.exists(missing)).toBe(false);
    await expect(storage.stat(missing)).rejects.toBeInstanceOf(NotFoundError);
    await expect(storage.get(missing)).rejects.toBeInstanceOf(NotFoundError);
    await expect(storage.get(missing, { start: 0, end: 1 })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('delete removes the object and is idempotent', async () => {
    const key = nextKey();
    await storage.put(key, Readable.from([bytes(1000, 6)]));
    await storage.delete(key);
    expect(await storage.exists(key)).toBe(false);
    await expect(storage.get(key)).rejects.toBeInstanceOf(NotFoundError);
    await expect(storage.delete(key)).resolves.toBeUndefined();
    await expect(storage.delete(nextKey())).resolves.toBeUndefined();
  });

  it('replaces atomically: readers get the whole old or the whole new object, never a mix', async () => {
    const key = nextKey();
    const oldData = bytes(6 * MiB, 7);
    const newData = bytes(4 * MiB + 3, 8);
    await storage.put(key, Readable.from(pattern(oldData.length, 7)), { size: oldData.length });

    // Reader 1 opens the old object and reads one chunk before the replace starts.
    const reader1 = (await storage.get(key)).body;
    const it1 = (reader1 as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    const first = await it1.next();
    expect(first.done).toBe(false);

    // The replacing put runs with half of its bytes sent; reader 2 reads everything meanwhile.
    const src = new PassThrough();
    const putting = storage.put(key, src, { size: newData.length });
    src.write(newData.subarray(0, 2 * MiB));
    await sleep(100);
    const during = await readAll((await storage.get(key)).body);
    expect(during.equals(oldData) || during.equals(newData)).toBe(true);
    expect(during.equals(oldData)).toBe(true); // the put has not finished: nothing new is visible yet
    src.end(newData.subarray(2 * MiB));
    await putting;

    const rest: Buffer[] = [first.value as Buffer];
    for (let r = await it1.next(); !r.done; r = await it1.next()) rest.push(r.value as Buffer);
    expect(Buffer.concat(rest).equals(oldData)).toBe(true);
    expect((await readAll((await storage.get(key)).body)).equals(newData)).toBe(true);
  });

  it('concurrent puts of one key leave exactly one of them, whole', async () => {
    const key = nextKey();
    const seeds = [11, 12, 13, 14];
    await Promise.all(seeds.map((s) => storage.put(key, Readable.from(pattern(300_000 + s, s)))));
    const got = await drain((await storage.get(key)).body);
    expect(seeds.map((s) => sha(pattern(300_000 + s, s)))).toContain(got.sha256);
  });

  it('a put whose source fails mid-stream rejects with that error and leaves the old object', async () => {
    const key = nextKey();
    const oldData = bytes(200_000, 9);
    await storage.put(key, Readable.from([oldData]));
    await expect(storage.put(key, failingAfter(1 * MiB, 10))).rejects.toThrow('client went away');
    // Known size: on s3 a single streamed PutObject, which must be aborted, not left to time out.
    await expect(storage.put(key, failingAfter(1 * MiB, 10), { size: 2 * MiB })).rejects.toThrow('client went away');
    // Past one part (8 MiB): on s3 a multipart upload is under way when the source fails.
    await expect(storage.put(key, failingAfter(9 * MiB, 10))).rejects.toThrow('client went away');
    expect((await readAll((await storage.get(key)).body)).equals(oldData)).toBe(true);
    expect((await collect(storage.list(key))).map((o) => o.key)).toEqual([key]);
  }, 20_000);

  it('a put with a wrong size hint fails with SizeMismatchError and leaves the old object', async () => {
    const key = nextKey();
    const oldData = bytes(5000, 15);
    await storage.put(key, Readable.from([oldData]));
    await expect(storage.put(key, Readable.from([bytes(999, 16)]), { size: 1000 })).rejects.toBeInstanceOf(
      SizeMismatchError,
    );
    await expect(storage.put(key, Readable.from([bytes(1001, 16)]), { size: 1000 })).rejects.toBeInstanceOf(
      SizeMismatchError,
    );
    expect((await readAll((await storage.get(key)).body)).equals(oldData)).toBe(true);
  }, 20_000);

  it('lists by prefix: whole segments, partial segments, nothing', async () => {
    const put = (k: string, n: number) => storage.put(k, Readable.from([bytes(n, n)]));
    await put(recordingKey('lister', '1', 'webm'), 101);
    await put(thumbnailKey('lister', '1'), 102);
    await put(recordingKey('lister', '2', 'mp4'), 103);
    await put(recordingKey('lister2', '1', 'webm'), 104);
    const list = async (prefix: string) => {
      const out = await collect(storage.list(prefix));
      expect(out.every((o) => o.lastModified instanceof Date)).toBe(true);
      return out.map((o): [string, number] => [o.key, o.size]).sort(([a], [b]) => (a < b ? -1 : 1));
    };
    expect(await list(recordingPrefix('lister', '1'))).toEqual([
      ['users/lister/recordings/1/original.webm', 101],
      ['users/lister/recordings/1/thumbnail.jpg', 102],
    ]);
    expect((await list('users/lister/')).map(([k]) => k)).toEqual([
      'users/lister/recordings/1/original.webm',
      'users/lister/recordings/1/thumbnail.jpg',
      'users/lister/recordings/2/original.mp4',
    ]);
    expect((await list('users/lister')).length).toBe(4); // partial segment: lister2 too
    expect(await list('users/lister/recordings/1/orig')).toEqual([['users/lister/recordings/1/original.webm', 101]]);
    expect(await list('users/nobody/')).toEqual([]);
    expect((await list('')).length).toBeGreaterThanOrEqual(4);
  });

  it.each([
    '',
    '/users/a/b',
    '../etc/passwd',
    'users/../../x',
    'users//a',
    'users/a/',
    'users\\a',
    'users/./a',
    '.tmp/x',
    'users/a b',
    'users/%2e%2e',
  ])('rejects the key %j on every operation', async (bad) => {
    const ops = [
      () => storage.put(bad, Readable.from([Buffer.from('x')])),
      () => storage.get(bad),
      () => storage.stat(bad),
      () => storage.exists(bad),
      () => storage.delete(bad),
      async () => storage.publicUrl(bad),
    ];
    for (const op of ops) await expect(op()).rejects.toBeInstanceOf(InvalidKeyError);
    if (kind === 'local') expect(fs.existsSync(path.join(tmp, 'etc'))).toBe(false);
  });

  it('rejects list prefixes that climb or are absolute', async () => {
    for (const bad of ['../', '/users', 'users/../', 'a\\b']) {
      await expect(collect(storage.list(bad))).rejects.toBeInstanceOf(InvalidKeyError);
    }
  });

  it('publicUrl is CDN_BASE_URL + key when configured, undefined otherwise', () => {
    const key = recordingKey('u1', '42', 'webm');
    expect(storage.publicUrl(key)).toBe(`${CDN}/users/u1/recordings/42/original.webm`);
    expect(plain.publicUrl(key)).toBeUndefined();
  });
});

describe('local provider specifics', () => {
  let dir: string;
  let local: LocalStorage;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-local-'));
    local = new LocalStorage({ dir: path.join(dir, 'media') });
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const tmpFiles = () =>
    fs.existsSync(path.join(dir, 'media/.tmp')) ? fs.readdirSync(path.join(dir, 'media/.tmp')) : [];

  it('leaves no temp file after a failed put, and the old file in place', async () => {
    const key = nextKey('local');
    await local.put(key, Readable.from([Buffer.from('old')]));
    await expect(local.put(key, failingAfter(3 * MiB, 20))).rejects.toThrow('client went away');
    await expect(local.put(key, Readable.from([Buffer.from('abc')]), { size: 4 })).rejects.toBeInstanceOf(
      SizeMismatchError,
    );
    expect(tmpFiles()).toEqual([]);
    expect(fs.readFileSync(path.join(dir, 'media', key), 'utf8')).toBe('old');
  });

  it('delete prunes the directories it emptied, and only those', async () => {
    const a = recordingKey('pruner', '1', 'webm');
    const b = recordingKey('pruner', '2', 'webm');
    await local.put(a, Readable.from([Buffer.from('a')]));
    await local.put(b, Readable.from([Buffer.from('b')]));
    await local.delete(a);
    expect(fs.existsSync(path.join(dir, 'media/users/pruner/recordings/1'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'media/users/pruner/recordings/2'))).toBe(true);
    await local.delete(b);
    expect(fs.existsSync(path.join(dir, 'media/users/pruner'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'media'))).toBe(true);
    // A put after the prune recreates the directories.
    await local.put(a, Readable.from([Buffer.from('again')]));
    expect(fs.readFileSync(path.join(dir, 'media', a), 'utf8')).toBe('again');
  });

  it('a read of a file shortened under it fails instead of ending early', async () => {
    const key = nextKey('local');
    await local.put(key, Readable.from(pattern(4 * MiB, 21)));
    const got = await local.get(key);
    fs.truncateSync(path.join(dir, 'media', key), 1000);
    await expect(drain(got.body)).rejects.toThrow(/ended after \d+ of 4194304 bytes/);
  });

  it('a reader that stops early (client gone) releases the file descriptor', async () => {
    const key = nextKey('local');
    await local.put(key, Readable.from(pattern(2 * MiB, 22)));
    const file = path.join(dir, 'media', key);
    const link = (fd: string) => fs.promises.readlink(`/proc/self/fd/${fd}`).catch(() => ''); // '' once closed
    const fdsOnFile = async () =>
      (await Promise.all(fs.readdirSync('/proc/self/fd').map(link))).filter((l) => l === file).length;
    const { body } = await local.get(key, { start: 0, end: MiB });
    expect(await fdsOnFile()).toBe(1);
    await (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]().next();
    body.destroy();
    for (let i = 0; i < 100 && (await fdsOnFile()) > 0; i++) await sleep(20);
    expect(await fdsOnFile()).toBe(0);
  });

  it('removeIncomplete deletes leftovers of crashed puts older than the cut-off, not fresh ones', async () => {
    fs.mkdirSync(path.join(dir, 'media/.tmp'), { recursive: true });
    const stale = path.join(dir, 'media/.tmp/crashed.part');
    const fresh = path.join(dir, 'media/.tmp/in-progress.part');
    fs.writeFileSync(stale, 'half');
    fs.writeFileSync(fresh, 'half');
    const dayAgo = new Date(Date.now() - 86_400_000);
    fs.utimesSync(stale, dayAgo, new Date(dayAgo.getTime() - 1000));
    expect(await local.removeIncomplete(new Date(Date.now() - 3_600_000))).toBe(1);
    expect(tmpFiles()).toEqual(['in-progress.part']);
    fs.rmSync(fresh);
  });

  it('a key whose path is a directory is not an object', async () => {
    await local.put(recordingKey('dirs', '1', 'webm'), Readable.from([Buffer.from('x')]));
    await expect(local.get('users/dirs/recordings/1')).rejects.toBeInstanceOf(NotFoundError);
    expect(await local.exists('users/dirs')).toBe(false);
    await expect(local.put('users/dirs', Readable.from([Buffer.from('x')]))).rejects.toThrow();
    expect(tmpFiles()).toEqual([]);
  });
});

describe('keys', () => {
  it('lays out recordings and thumbnails under users/<user>/recordings/<id>/', () => {
    expect(recordingKey('u_1-A', '42', 'webm')).toBe('users/u_1-A/recordings/42/original.webm');
    expect(recordingKey('u1', 42n, 'mp4')).toBe('users/u1/recordings/42/original.mp4');
    expect(thumbnailKey('u1', '42')).toBe('users/u1/recordings/42/thumbnail.jpg');
    expect(thumbnailKey('u1', '42', 'webp')).toBe('users/u1/recordings/42/thumbnail.webp');
  });

  it('refuses ids and extensions that would not make one clean segment', () => {
    for (const [make, message] of [
      [() => recordingKey('../x', '1', 'webm'), /user id must match/],
      [() => recordingKey('a/b', '1', 'webm'), /user id must match/],
      [() => recordingKey('u1', '', 'webm'), /recording id must match/],
      [() => recordingKey('u1', '1', '.webm'), /extension must match/],
      [() => thumbnailKey('u1', '1', 'j/pg'), /extension must match/],
    ] as const) {
      expect(make).toThrow(InvalidKeyError);
      expect(make).toThrow(message);
    }
  });
});
