/**
 * The storage feature flag (the spec's USE_DATABASE_STORAGE): true (default) keeps every user's takes on
 * the server, false keeps them in the browser, and N% puts a stable share of users on the server — the
 * same user on the same side on every call, on every server process and after a restart, because the
 * side is a pure function of the user id (first 4 bytes of its sha256, mod 100, below N).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/server/config.js';
import { rolloutBucket, storageFor } from '../src/server/features.js';
import { createLogger } from '../src/server/logger.js';
import { startServer } from '../src/server/server.js';
import { signUp, startTestServer, type TestServer } from './support/app.js';
import { freshDatabase, pgTargets } from './support/db.js';
import { call } from './support/recordings-fixtures.js';
import { createUpload, fakeWebm, patchUpload } from './support/tus-http.js';

describe('USE_DATABASE_STORAGE and SESSION_STALE_SECONDS parsing', () => {
  it.each([
    [undefined, 100],
    ['', 100],
    ['true', 100],
    [' TRUE ', 100],
    ['false', 0],
    ['False', 0],
    ['0%', 0],
    ['25%', 25],
    ['50%', 50],
    ['100%', 100],
  ])('USE_DATABASE_STORAGE=%j is %d%% of users', (raw, percent) => {
    expect(loadConfig(raw === undefined ? {} : { USE_DATABASE_STORAGE: raw }).databaseStoragePercent).toBe(percent);
  });

  it.each(['yes', '1', '50', '101%', '-1%', '12.5%', '50 %', '%', 'maybe', 'true%'])(
    'USE_DATABASE_STORAGE=%j is a ConfigError naming the variable',
    (raw) => {
      let err: unknown;
      try {
        loadConfig({ USE_DATABASE_STORAGE: raw });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).variable).toBe('USE_DATABASE_STORAGE');
      expect((err as Error).message).toMatch(
        /^USE_DATABASE_STORAGE: .*accepted: true, false, or a share of users from 0% to 100%/,
      );
    },
  );

  it('SESSION_STALE_SECONDS defaults to 45 and refuses what is not a positive whole number of seconds', () => {
    expect(loadConfig({}).sessionStaleSeconds).toBe(45);
    expect(loadConfig({ SESSION_STALE_SECONDS: '10' }).sessionStaleSeconds).toBe(10);
    for (const raw of ['0', '-5', '1.5', 'soon', '86401']) {
      expect(() => loadConfig({ SESSION_STALE_SECONDS: raw }), raw).toThrow(/^SESSION_STALE_SECONDS: /);
    }
  });
});

describe('the rollout bucket of a user id', () => {
  it('is the first 4 bytes of sha256(id) mod 100, fixed forever (changing it would move users between sides)', () => {
    expect(['alice', 'bob', 'user-1', 'user-2', 'u_0001', 'Zz9'].map(rolloutBucket)).toEqual([1, 12, 52, 7, 54, 20]);
  });

  it('puts a user on the server below the share, in the browser at or above it; 0% and 100% are everyone', () => {
    expect(storageFor('user-1', 52)).toBe('browser'); // bucket 52
    expect(storageFor('user-1', 53)).toBe('server');
    expect(storageFor('user-1', 0)).toBe('browser');
    expect(storageFor('user-1', 100)).toBe('server');
    // Raising the share only ever moves users from the browser to the server.
    const ids = Array.from({ length: 200 }, (_, i) => `id-${i}`);
    for (let p = 1; p <= 100; p++)
      for (const id of ids) if (storageFor(id, p - 1) === 'server') expect(storageFor(id, p)).toBe('server');
    // and the share is roughly what was asked for
    const onServer = ids.filter((id) => storageFor(id, 25) === 'server').length / ids.length;
    expect(onServer).toBeGreaterThan(0.18);
    expect(onServer).toBeLessThan(0.32);
  });
});

const me = async (url: string, headers: Record<string, string>) => {
  const r = await call(url, 'GET', '/api/auth/me', headers);
  expect(r.status).toBe(200);
  return r.json as unknown as { user: { id: string; email: string }; features: { storage: 'server' | 'browser' } };
};

describe.each(pgTargets())('GET /api/auth/me features on $name', (target) => {
  for (const [flag, storage] of [
    [undefined, 'server'],
    ['false', 'browser'],
  ] as const) {
    describe(`USE_DATABASE_STORAGE=${flag ?? '(unset)'}`, () => {
      let t: TestServer;
      beforeAll(async () => {
        t = await startTestServer(target, flag ? { USE_DATABASE_STORAGE: flag } : {});
      });
      afterAll(async () => t?.close());

      it(`tells every user storage: '${storage}', with the user as before`, async () => {
        for (const name of ['a', 'b', 'c']) {
          const u = await signUp(t.url, name);
          const body = await me(t.url, u.headers);
          expect(body).toEqual({
            user: { id: u.userId, email: u.email, displayName: name, createdAt: expect.any(String) },
            features: { storage },
          });
        }
        expect((await call(t.url, 'GET', '/api/auth/me')).json).toMatchObject({ code: 'UNAUTHENTICATED' });
      });

      it(`${storage === 'browser' ? 'refuses' : 'takes'} an upload without an import; takes imports`, async () => {
        const u = await signUp(t.url, 'uploader');
        const plain = await createUpload(t.url, u.headers, { recordingType: 'camera' }, { length: 100 });
        if (storage === 'browser') {
          expect(plain).toMatchObject({ status: 403, body: { code: 'SERVER_STORAGE_DISABLED' } });
          expect(plain.body?.message).toMatch(/kept in this browser; the server accepts only imports/);
        } else expect(plain.status).toBe(201);
        const started = await call(t.url, 'POST', '/api/imports', u.headers, {
          origin: 'browser',
          itemCount: 1,
          byteCount: 100,
        });
        const bytes = fakeWebm(100);
        const meta = {
          recordingType: 'camera',
          importId: (started.json as unknown as { import: { id: string } }).import.id,
          legacySource: 'browser-take',
          legacyId: 'take-1',
          legacySha256: createHash('sha256').update(bytes).digest('hex'),
        };
        const imported = await createUpload(t.url, u.headers, meta, { length: bytes.length });
        expect(imported.status).toBe(201);
        const done = await patchUpload(imported.location, u.headers, 0, bytes);
        expect(done.status).toBe(204);
        expect(done.headers.get('import-outcome')).toBe('imported');
        // and what is on the server stays listed and readable, whichever side the user is on
        const list = await call(t.url, 'GET', '/api/recordings', u.headers);
        expect(list.json.items.map((r) => r.id)).toEqual([done.headers.get('recording-id')]);
      });
    });
  }

  it('at 50%, users land on both sides, each where its id hashes to, on every call and after a restart', async () => {
    const db = await freshDatabase(target);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-flag-'));
    const config = loadConfig({
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      USE_DATABASE_STORAGE: '50%',
      JOBS_ENABLED: 'false',
    });
    const logger = createLogger('silent');
    let server = await startServer(config, logger);
    try {
      const users = [];
      for (let i = 0; i < 16; i++) users.push(await signUp(server.url, `half${i}`));
      const sides = new Map<string, string>();
      for (const u of users) {
        const first = (await me(server.url, u.headers)).features.storage;
        expect((await me(server.url, u.headers)).features.storage).toBe(first);
        expect(first).toBe(storageFor(u.userId, 50));
        sides.set(u.userId, first);
      }
      // 16 random ids all on one side: 2 × 2^-16; both sides are seen.
      expect(new Set(sides.values())).toEqual(new Set(['server', 'browser']));

      await server.stop();
      server = await startServer(config, logger);
      for (const u of users) {
        const headers = { ...u.headers, origin: server.url };
        expect((await me(server.url, headers)).features.storage).toBe(sides.get(u.userId));
      }
    } finally {
      await server.stop();
      await db.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
