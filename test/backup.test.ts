/**
 * Backups as the spec asks: `recorder backup` of a database seeded through the real app restores into a
 * fresh database row for row (every table, every column) with its sequences where they stood; a restore
 * onto a database that holds anything is refused; the media manifest's sha256s are the files'; `migrate up`
 * takes a full backup first when a pending migration is marked destructive, or when BACKUP_BEFORE_MIGRATE
 * asks (the server's migrate-on-start too), and the test restores from it. On both targets: pg_dump 15
 * fits the Debian server (pg_dump form), not the embedded 18 (copy form).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/server/config.js';
import { BackupError, readManifest, type BackupManifest } from '../src/server/db/backup/manifest.js';
import { verifyMedia } from '../src/server/db/backup/media.js';
import { pgToolsFor } from '../src/server/db/backup/pg-tools.js';
import { restoreFullBackup } from '../src/server/db/backup/restore.js';
import { writeFullBackup } from '../src/server/db/backup/write.js';
import { loadMigrations } from '../src/server/db/migrator/files.js';
import { createLogger } from '../src/server/logger.js';
import { createMigrator, startServer } from '../src/server/server.js';
import { thumbnailKey, versionKey, versionThumbnailKey } from '../src/server/storage/keys.js';
import { LocalStorage } from '../src/server/storage/local.js';
import { signUp, startTestServer, type TestServer } from './support/app.js';
import { connect, freshDatabase, MIGRATIONS_DIR, migrator, pgTargets } from './support/db.js';
import { call } from './support/recordings-fixtures.js';
import { createDeferredUpload, patch, sessionsApi } from './support/sessions.js';
import { fakeWebm } from './support/tus-http.js';

const silent = createLogger('silent');
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Every table of `public`, each row as jsonb text (all columns, exact values), ordered by primary key. */
async function snapshot(c: pg.Client): Promise<Record<string, string[]>> {
  const tables = await c.query<{ name: string; key: string[] }>(
    `SELECT c.relname AS name,
            (SELECT array_agg(a.attname::text ORDER BY array_position(i.indkey, a.attnum))
               FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
              WHERE i.indrelid = c.oid AND i.indisprimary) AS key
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1`,
  );
  const out: Record<string, string[]> = {};
  for (const t of tables.rows) {
    const order = t.key.map((k) => c.escapeIdentifier(k)).join(', ');
    const rows = await c.query<{ r: string }>(
      `SELECT to_jsonb(t)::text AS r FROM public.${t.name} t ORDER BY ${order}`,
    );
    out[t.name] = rows.rows.map((r) => r.r);
  }
  const sequences = await c.query<{ s: string }>(
    `SELECT sequencename || '=' || coalesce(last_value::text, 'unused') AS s FROM pg_sequences
      WHERE schemaname = 'public' ORDER BY 1`,
  );
  out['(sequences)'] = sequences.rows.map((r) => r.s);
  return out;
}

type User = Awaited<ReturnType<typeof signUp>>;

/** Users, a project with a member, an API token, sessions, a finished upload (recording with media and a
 * thumbnail), an unfinished upload: through the real HTTP API, as the web app does; then a ready version
 * (object and thumbnail) and a rendering one. */
async function seed(t: TestServer, c: pg.Client) {
  const owner = await signUp(t.url, 'ada');
  const member = await signUp(t.url, 'bob');
  const api = (u: User, method: string, route: string, body?: unknown) => call(t.url, method, route, u.headers, body);
  const project = (await api(owner, 'POST', '/api/projects', { name: 'Launch, "quoted"\nsecond line' })).json as {
    id: string;
  };
  expect(
    (await api(owner, 'POST', `/api/projects/${project.id}/members`, { email: member.email, role: 'editor' })).status,
  ).toBe(201);
  expect((await api(owner, 'POST', '/api/auth/tokens', { name: 'CI' })).status).toBe(201);
  const sessions = sessionsApi(t.url, owner.headers);
  const session = await sessions.create({ recordingType: 'screen' });
  await sessions.heartbeat(session.id);
  await sessionsApi(t.url, member.headers).create({ recordingType: 'audio' });
  const bytes = fakeWebm(50_000);
  const up = await createDeferredUpload(t.url, owner.headers, {
    recordingType: 'screen',
    title: 'Démo ✓, with "quotes"',
    projectId: project.id,
  });
  const done = await patch(up.uploadUrl, owner.headers, 0, bytes, bytes.length);
  expect(done.recordingId).toMatch(/^\d+$/);
  const half = await createDeferredUpload(t.url, member.headers, { recordingType: 'camera', title: 'half' });
  expect((await patch(half.uploadUrl, member.headers, 0, fakeWebm(1000, 2))).status).toBe(204);
  // what processing does with ffmpeg: a thumbnail object and its key in the metadata
  const thumb = thumbnailKey(owner.userId, done.recordingId!);
  await t.server.storage.put(thumb, Readable.from([fakeWebm(300, 3)]), { contentType: 'image/jpeg' });
  await c.query(
    `UPDATE recordings SET metadata = metadata || jsonb_build_object('thumbnail_key', $2::text) WHERE id = $1`,
    [done.recordingId, thumb],
  );
  // recordings and recording_versions reference each other (current_version_id): a restore must load both
  const version = await readyVersion(t, c, owner.userId, done.recordingId!);
  await c.query('UPDATE recordings SET current_version_id = $2 WHERE id = $1', [done.recordingId, version.id]);
  // a render still running has no finished object: not in the manifest
  await c.query(
    `INSERT INTO recording_versions (recording_id, number, edit_revision, edits, storage_provider, storage_key)
     VALUES ($1, 2, 0, '{}', 'local', 'versions/backup-test')`,
    [done.recordingId],
  );
  const keys = await c.query<{ k: string }>('SELECT storage_key AS k FROM recordings WHERE storage_key IS NOT NULL');
  return { owner, version, mediaKeys: [...keys.rows.map((r) => r.k), thumb, version.key, version.thumbnail] };
}

/** What the render-version job leaves: a ready version row, its object and its thumbnail in the storage. */
async function readyVersion(t: TestServer, c: pg.Client, userId: string, recordingId: string) {
  const bytes = fakeWebm(20_000, 4);
  const { rows } = await c.query<{ id: string }>(
    `INSERT INTO recording_versions (recording_id, number, edit_revision, edits, storage_provider, storage_key)
     VALUES ($1, 1, 0, '{}', 'local', 'versions/pending') RETURNING id`,
    [recordingId],
  );
  const id = rows[0]!.id;
  const key = versionKey(userId, recordingId, id, 'webm');
  const thumbnail = versionThumbnailKey(userId, recordingId, id);
  await t.server.storage.put(key, Readable.from([bytes]), { contentType: 'video/webm' });
  await t.server.storage.put(thumbnail, Readable.from([fakeWebm(200, 5)]), { contentType: 'image/jpeg' });
  await c.query(
    `UPDATE recording_versions SET status = 'ready', progress = 1, storage_key = $2, thumbnail_key = $3,
            file_size = $4, sha256 = $5, duration_ms = 1000, mime_type = 'video/webm', completed_at = now()
      WHERE id = $1`,
    [id, key, thumbnail, bytes.length, sha256(bytes)],
  );
  return { id, key, thumbnail, size: bytes.length, sha256: sha256(bytes) };
}

/** A copy of migrations/ plus extra files, for a pending migration of the test's own. */
function migrationsWith(extra: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-migrations-'));
  for (const f of fs.readdirSync(MIGRATIONS_DIR)) fs.copyFileSync(path.join(MIGRATIONS_DIR, f), path.join(dir, f));
  for (const [name, sql] of Object.entries(extra)) fs.writeFileSync(path.join(dir, name), sql);
  return dir;
}

describe('the destructive marker', () => {
  it('is read from the header of an up file; anywhere else it is refused', async () => {
    const dir = migrationsWith({
      '9001_phase9_rewrite.up.sql': '-- why: names change case\n-- recorder:destructive\nUPDATE users SET id = id;\n',
      '9001_phase9_rewrite.down.sql': 'SELECT 1;\n',
    });
    const files = await loadMigrations(dir);
    expect(files.filter((f) => f.up.destructive).map((f) => f.version)).toEqual([9001]);
    fs.writeFileSync(
      path.join(dir, '9001_phase9_rewrite.up.sql'),
      'UPDATE users SET id = id;\n-- recorder:destructive\n',
    );
    await expect(loadMigrations(dir)).rejects.toThrow(/must be a line of the file's header/);
    fs.writeFileSync(path.join(dir, '9001_phase9_rewrite.up.sql'), 'SELECT 1;\n');
    fs.writeFileSync(path.join(dir, '9001_phase9_rewrite.down.sql'), '-- recorder:destructive\nSELECT 1;\n');
    await expect(loadMigrations(dir)).rejects.toThrow(/marks up files only/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe.each(pgTargets())('backups on $name', (target) => {
  let t: TestServer;
  let c: pg.Client;
  let seeded: Awaited<ReturnType<typeof seed>>;
  let work: string;
  const dropLater: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-backup-test-'));
    t = await startTestServer(target, { JOBS_ENABLED: 'false' });
    c = await connect(t.dbUrl);
    seeded = await seed(t, c);
  });
  afterAll(async () => {
    await c?.end();
    await t?.close();
    for (const drop of dropLater) await drop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  async function emptyDatabase() {
    const db = await freshDatabase(target);
    dropLater.push(db.drop);
    return db.url;
  }

  function restoreInto(url: string, dir: string, migrationsDir = MIGRATIONS_DIR) {
    return restoreFullBackup({ url, dir, migrator: migrator(url, { dir: migrationsDir }) });
  }

  it('backup → restore into a fresh database: every table row for row, and the sequences', async () => {
    const before = await snapshot(c);
    expect(before.recordings).toHaveLength(1);
    expect(before.uploads).toHaveLength(2);
    const server = await c.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
    const dumpFits = (await pgToolsFor(Math.floor(Number(server.rows[0]!.v) / 10000))) !== undefined;
    // npm test installs Debian's client 15: the pg15 target takes the pg_dump form (embedded 18: copy form,
    // unless a pg_dump 18 is installed too)
    if (target.name === 'debian-pg15') expect(dumpFits).toBe(true);
    for (const form of dumpFits ? (['pg_dump', 'copy'] as const) : (['copy'] as const)) {
      const dir = path.join(work, `full-${form}`);
      const { manifest } = await writeFullBackup({
        url: t.dbUrl,
        storage: t.server.storage,
        dir,
        reason: 'test',
        form,
      });
      expect(manifest.database.form).toBe(form);
      expect(manifest.database.tables.find((x) => x.name === 'users')?.rows).toBe(2);
      const restoredUrl = await emptyDatabase();
      const result = await restoreInto(restoredUrl, dir);
      expect(result.tables.find((x) => x.name === 'recordings')?.rows).toBe(1);
      const restored = await connect(restoredUrl);
      try {
        expect(await snapshot(restored)).toEqual(before);
      } finally {
        await restored.end();
      }
    }
  });

  it('a restore onto a database that holds anything is refused, and changes nothing', async () => {
    const dir = path.join(work, 'refused');
    await writeFullBackup({ url: t.dbUrl, storage: t.server.storage, dir, reason: 'test', form: 'copy' });
    const before = await snapshot(c);
    const refused = restoreInto(t.dbUrl, dir);
    await expect(refused).rejects.toBeInstanceOf(BackupError);
    await expect(refused).rejects.toThrow(/empty database only.*public\..*Nothing was changed/s);
    expect(await snapshot(c)).toEqual(before);
    const oneTable = await emptyDatabase();
    const other = await connect(oneTable);
    await other.query('CREATE TABLE notes (id int)');
    await other.end();
    await expect(restoreInto(oneTable, dir)).rejects.toThrow(/1 table\(s\).*public\.notes/s);
  });

  it("the media manifest's sizes and sha256s are the stored files'; verify finds a changed object", async () => {
    const dir = path.join(work, 'media');
    const { manifest } = await writeFullBackup({
      url: t.dbUrl,
      storage: t.server.storage,
      dir,
      reason: 'test',
      withMedia: true,
      concurrency: 2,
    });
    const mediaRoot = path.join(t.dataDir, 'media');
    expect(manifest.media.entries.map((e) => e.key).sort()).toEqual([...seeded.mediaKeys].sort());
    for (const entry of manifest.media.entries) {
      const stored = fs.readFileSync(path.join(mediaRoot, entry.key));
      expect(entry).toMatchObject({ status: 'ok', size: stored.length, sha256: sha256(stored) });
      expect(sha256(fs.readFileSync(path.join(dir, entry.copy!)))).toBe(entry.sha256);
    }
    expect(manifest.media).toMatchObject({ hashed: true, copied: true, missing: 0, objects: 4 });
    // a ready version's objects, where its row says, with the size and sha256 its row recorded
    const { version } = seeded;
    expect(manifest.media.entries.filter((e) => e.versionId)).toEqual([
      expect.objectContaining({ kind: 'version', versionId: version.id, key: version.key, provider: 'local' }),
      expect.objectContaining({ kind: 'version-thumbnail', versionId: version.id, key: version.thumbnail }),
    ]);
    expect(manifest.media.entries.find((e) => e.key === version.key)).toMatchObject({
      expectedSize: version.size,
      size: version.size,
      sha256: version.sha256,
    });
    const check = () => verifyMedia(manifest, t.server.storage, { concurrency: 2, progress: silentBar });
    expect((await check()).problems).toEqual([]);
    for (const kind of ['recording', 'version'] as const) {
      const key = manifest.media.entries.find((e) => e.kind === kind)!.key;
      const victim = path.join(mediaRoot, key);
      const original = fs.readFileSync(victim);
      fs.writeFileSync(victim, Buffer.concat([original, Buffer.from('x')]));
      try {
        expect((await check()).problems).toEqual([{ key, problem: expect.stringMatching(/^changed/) }]);
      } finally {
        fs.writeFileSync(victim, original);
      }
    }
    // restore --with-media: the copies go back into (here: another) storage, each checked against its sha256
    const otherMedia = path.join(work, 'other-media');
    const restoredUrl = await emptyDatabase();
    const result = await restoreFullBackup({
      url: restoredUrl,
      dir,
      migrator: migrator(restoredUrl),
      storage: new LocalStorage({ dir: otherMedia }),
      withMedia: true,
    });
    expect(result.mediaRestored).toBe(4); // the version's object and thumbnail among them
    for (const entry of manifest.media.entries)
      expect(sha256(fs.readFileSync(path.join(otherMedia, entry.key)))).toBe(entry.sha256);
  });

  it('migrate up with a pending destructive migration writes a full backup first, which restores', async () => {
    const dir = migrationsWith({
      '9001_phase9_rename_people.up.sql': "-- recorder:destructive\nUPDATE users SET display_name = 'gone';\n",
      '9001_phase9_rename_people.down.sql': 'SELECT 1;\n',
    });
    const before = await snapshot(c);
    const config = loadConfig({ DATABASE_URL: t.dbUrl, DATA_DIR: t.dataDir, MIGRATIONS_DIR: dir });
    const events: string[] = [];
    const m = createMigrator(config, t.dbUrl, silent, { onProgress: (e) => events.push(e.type) });
    const done = await m.up();
    expect(done.map((s) => s.version)).toEqual([9001]);
    expect(events.slice(0, 2)).toEqual(['backupStart', 'backup']);
    expect(done.backupPath).toMatch(/backups\/.*-before-9001$/);
    const manifest: BackupManifest = await readManifest(done.backupPath!);
    expect(manifest.reason).toMatch(/9001_phase9_rename_people\.up\.sql is marked destructive/);
    expect(manifest.media).toMatchObject({ hashed: false, objects: 4 });
    const unhashed = await verifyMedia(manifest, t.server.storage, { concurrency: 2, progress: silentBar });
    expect(unhashed).toEqual({ checked: 4, problems: [] }); // listed keys: there, and the size the row says
    const restoredUrl = await emptyDatabase();
    await restoreInto(restoredUrl, done.backupPath!, dir);
    const restored = await connect(restoredUrl);
    try {
      expect(await snapshot(restored)).toEqual(before); // the names as they were before the migration
    } finally {
      await restored.end();
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('BACKUP_BEFORE_MIGRATE=true: migrate-on-start takes a full backup before a harmless migration too', async () => {
    const url = await emptyDatabase();
    await migrator(url).up();
    const sql = await connect(url);
    await sql.query(`INSERT INTO users (id, email, display_name) VALUES ('u1', 'u1@example.com', 'Una')`);
    const dir = migrationsWith({
      '9002_phase9_probe.up.sql': 'CREATE TABLE probe_a (id int);\n',
      '9002_phase9_probe.down.sql': 'DROP TABLE probe_a;\n',
      '9003_phase9_probe_b.up.sql': 'CREATE TABLE probe_b (id int);\n',
      '9003_phase9_probe_b.down.sql': 'DROP TABLE probe_b;\n',
    });
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-app-'));
    const env = { DATABASE_URL: url, DATA_DIR: dataDir, MIGRATIONS_DIR: dir, PORT: '0', HOST: '127.0.0.1' };
    const plain = await createMigrator(loadConfig(env), url, silent).up({ to: 9002 });
    expect(plain.backupPath).toBeUndefined(); // not destructive, flag off: no backup
    expect(fs.existsSync(path.join(dataDir, 'backups'))).toBe(false);
    const failing = migrator(url, {
      dir,
      backupBeforeUp: true,
      fullBackup: () => Promise.reject(new Error('disk full')),
    });
    await expect(failing.up()).rejects.toThrow(
      /full backup before migrating .* failed, so nothing was migrated: disk full/,
    );
    expect((await failing.status()).find((m) => m.version === 9003)?.state).toBe('pending');
    const server = await startServer(
      loadConfig({ ...env, BACKUP_BEFORE_MIGRATE: 'true', JOBS_ENABLED: 'false' }),
      silent,
    );
    await server.stop();
    const written = fs.readdirSync(path.join(dataDir, 'backups'));
    expect(written).toEqual([expect.stringMatching(/-before-9003$/)]);
    const backupDir = path.join(dataDir, 'backups', written[0]!);
    expect((await readManifest(backupDir)).database.schemaVersion).toBe(9002);
    const restoredUrl = await emptyDatabase();
    await restoreInto(restoredUrl, backupDir, dir);
    const restored = await connect(restoredUrl);
    try {
      expect((await restored.query('SELECT id FROM users')).rows).toEqual([{ id: 'u1' }]);
      expect(
        (await restored.query(`SELECT to_regclass('probe_a')::text AS a, to_regclass('probe_b')::text AS b`)).rows,
      ).toEqual([{ a: 'probe_a', b: null }]);
    } finally {
      await restored.end();
      await sql.end();
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

const silentBar = { begin() {}, advance() {}, end() {} };
