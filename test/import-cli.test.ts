/**
 * `recorder import legacy` (issue 11) as an operator runs it: a child process on a migrated database, no
 * server (the processing jobs it queues are not awaited). An export with every kind of entry: what is
 * readable is imported with its fields, the rest is listed with reasons (exit 1); a second run imports
 * nothing; --dry-run writes nothing; usage errors exit 2. And a generated 2 GB export: streamed, with the
 * CLI's peak memory less than 150 MB above what it needs for a tiny file.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, freshDatabase, migrator, pgTargets } from './support/db.js';
import { insertProject, insertUser } from './support/recordings-fixtures.js';

const BIN = path.resolve(import.meta.dirname, '../bin/recorder.js');
const MiB = 1024 ** 2;
/** The export of the big test: 2 GB of JSON, ~1.5 GB of media in items of BIG_ITEM bytes. */
const BIG_JSON_BYTES = 2 * 1000 ** 3;
const BIG_ITEM = 24 * MiB;

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

function runCli(env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliRun> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'import', 'legacy', ...args], { env, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr, seconds: (performance.now() - started) / 1000 }));
  });
}

const count = (out: string, what: string) => Number(new RegExp(`${what}: (\\d+)`).exec(out)?.[1] ?? Number.NaN);
const peakMiB = (out: string) => Number(/peak memory: (\d+) MiB/.exec(out)?.[1] ?? Number.NaN);
const dataUrl = (bytes: Buffer, mime = 'video/webm') => `data:${mime};base64,${bytes.toString('base64')}`;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Writes an export of `items` entries of BIG_ITEM bytes each (a real webm, padded, each one different). */
async function writeBigExport(file: string, webm: Buffer, items: number): Promise<void> {
  // The common part is encoded once; each item differs in its last 3 bytes (its own base64 quantum).
  const body = Buffer.alloc(BIG_ITEM - 3, 0x5a);
  webm.copy(body);
  if (body.length % 3 !== 0) throw new Error('the padding must end on a base64 quantum');
  const common = body.toString('base64');
  const out = fs.createWriteStream(file);
  const write = (s: string) =>
    out.write(s) ? Promise.resolve() : new Promise<void>((resolve) => out.once('drain', resolve));
  await write('[\n');
  for (let i = 0; i < items; i++) {
    const tail = Buffer.from([i & 0xff, (i >> 8) & 0xff, 0x42]).toString('base64');
    const head = JSON.stringify({ id: `big-${i}`, title: `Big ${i}`, type: 'screenCamera', duration: 61.5 });
    await write(`${i ? ',\n' : ''}${head.slice(0, -1)},"mediaBlob":"data:video/webm;base64,`);
    await write(common);
    await write(`${tail}"}`);
  }
  await write('\n]\n');
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

describe.each(pgTargets().slice(0, 1))('recorder import legacy on $name', (target) => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let c: pg.Client;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let userId: string;
  let email: string;
  let webm: Buffer;
  let thumbnail: Buffer;
  const recordings = async () =>
    (await c.query(`SELECT count(*)::int AS n FROM recordings WHERE user_id = $1`, [userId])).rows[0].n as number;
  const imports = async () => (await c.query(`SELECT count(*)::int AS n FROM legacy_imports`)).rows[0].n as number;
  const mediaFiles = () => {
    const media = path.join(dir, 'data', 'media');
    return fs.existsSync(media) ? fs.readdirSync(media, { recursive: true }).length : 0;
  };

  beforeAll(async () => {
    db = await freshDatabase(target);
    await migrator(db.url).up();
    c = await connect(db.url);
    userId = await insertUser(c, 'importer');
    email = `${userId}@example.com`;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-import-cli-'));
    env = { ...process.env, DATABASE_URL: db.url, DATA_DIR: path.join(dir, 'data'), LOG_LEVEL: '' };
    const file = path.join(dir, 'take.webm');
    await promisify(execFile)('ffmpeg', [
      ...['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-t', '1'],
      ...['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '100k', file],
    ]);
    webm = fs.readFileSync(file);
    const png = path.join(dir, 'thumb.png');
    await promisify(execFile)('ffmpeg', [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'color=c=red:s=16x16',
      '-frames:v',
      '1',
      png,
    ]);
    thumbnail = fs.readFileSync(png);
  });

  afterAll(async () => {
    await c?.end();
    await db?.drop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('imports each readable entry with its fields, lists the rest with reasons (exit 1); again: none new', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    const entries = [
      {
        id: 'ok-1',
        title: '  Standup  ',
        type: 'screen_camera',
        duration: '12.5',
        createdAt: '2023-05-06T07:08:09.010Z',
        mediaBlob: dataUrl(webm),
        description: 'first',
        quality: 'medium',
        thumbnail: dataUrl(thumbnail, 'image/png'),
      },
      { id: 2, name: 'Voice memo', type: 'voice', durationMs: 4000, timestamp: 1_600_000_000, dataUrl: dataUrl(webm) },
      { id: 2, name: 'Same id, same bytes', type: 'voice', dataUrl: dataUrl(webm) },
      { id: 3, type: 'video', url: 'blob:https://old.example/3' },
      { id: 4, type: 'camera', mediaUrl: 'idb:old-recorder/blobs/4' },
      { id: 5, type: 'camera', mediaBlob: 'data:video/webm;base64,GkXf*not-base64' },
      { id: 6, type: 'hologram', mediaBlob: dataUrl(webm) },
      { id: 7, type: 'camera', mediaBlob: dataUrl(png, 'image/png') },
      { id: 8, type: 'camera', mediaBlob: {} },
      'not a recording',
    ];
    const file = path.join(dir, 'mixed.json');
    fs.writeFileSync(file, JSON.stringify(entries, null, 2));

    const first = await runCli(env, file, '--user', email);
    expect(first.stderr).toBe('');
    expect(first.code, first.stdout).toBe(1);
    expect(count(first.stdout, 'imported')).toBe(2);
    expect(count(first.stdout, 'already there')).toBe(1);
    expect(count(first.stdout, 'skipped')).toBe(7);
    for (const reason of ['BLOB_URL_DEAD', 'IDB_MISSING', 'CORRUPT_DATA', 'UNKNOWN_TYPE', 'NOT_MEDIA', 'NO_MEDIA']) {
      expect(first.stdout).toContain(reason);
    }
    expect(first.stdout).toContain('NOT_AN_OBJECT');

    const { rows } = await c.query(
      `SELECT title, description, recording_type, duration, quality, created_at, file_size,
              metadata->>'upload_sha256' AS sha256, (metadata->>'thumbnail_uploaded')::boolean AS own_thumbnail
         FROM recordings WHERE user_id = $1 ORDER BY created_at`,
      [userId],
    );
    expect(rows).toEqual([
      expect.objectContaining({ title: 'Voice memo', recording_type: 'audio', duration: 4 }),
      expect.objectContaining({ title: 'Standup', recording_type: 'screen-camera', description: 'first' }),
    ]);
    expect(rows[0].created_at.toISOString()).toBe('2020-09-13T12:26:40.000Z');
    expect(rows[1].created_at.toISOString()).toBe('2023-05-06T07:08:09.010Z');
    expect(rows[1].quality).toBe('medium');
    expect(rows.map((r) => r.own_thumbnail)).toEqual([null, true]);
    for (const row of rows) {
      expect(row.sha256).toBe(sha256(webm));
      expect(Number(row.file_size)).toBe(webm.length);
    }
    // The repeated entry (same id, same bytes) is the recording this import made: no row of its own.
    const outcomes = await c.query(
      `SELECT outcome, reason, count(*)::int AS n FROM legacy_import_items GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    expect(outcomes.rows).toEqual(
      expect.arrayContaining([
        { outcome: 'imported', reason: null, n: 2 },
        { outcome: 'skipped', reason: 'NOT_MEDIA', n: 1 },
      ]),
    );
    expect(fs.readdirSync(path.join(dir, 'data', 'tmp'))).toEqual([]);
    // the history counts every entry of the file, learnt only at its end
    const run = await c.query(`SELECT status, item_count FROM legacy_imports ORDER BY id DESC LIMIT 1`);
    expect(run.rows[0]).toEqual({ status: 'completed', item_count: entries.length });

    const second = await runCli(env, file, '--user', email);
    expect(second.code).toBe(1);
    expect(count(second.stdout, 'imported')).toBe(0);
    expect(count(second.stdout, 'already there')).toBe(3);
    expect(await recordings()).toBe(2);
  });

  it('--dry-run reads, hashes and looks up, and writes nothing', async () => {
    const file = path.join(dir, 'dry.json');
    const fresh = Buffer.concat([webm, Buffer.from('fresh bytes')]);
    fs.writeFileSync(
      file,
      JSON.stringify([
        { id: 'ok-1', type: 'screenCamera', mediaBlob: dataUrl(webm) },
        { id: 'new', type: 'camera', mediaBlob: dataUrl(fresh) },
      ]),
    );
    const before = { recordings: await recordings(), imports: await imports(), media: mediaFiles() };
    const dry = await runCli(env, file, '--user', email, '--dry-run');
    expect(dry.code, dry.stdout + dry.stderr).toBe(0);
    expect(dry.stdout).toContain('nothing was written');
    expect(count(dry.stdout, 'would import')).toBe(1);
    expect(count(dry.stdout, 'already there')).toBe(1);
    expect({ recordings: await recordings(), imports: await imports(), media: mediaFiles() }).toEqual(before);
  });

  it('exits 2 on usage errors, saying what is wrong', async () => {
    const file = path.join(dir, 'mixed.json');
    const project = await insertProject(c, await insertUser(c, 'stranger'));
    const cases: [string[], RegExp][] = [
      [[file], /--user EMAIL is required/],
      [[file, '--user', 'nobody@example.com'], /no account has the email nobody@example\.com/],
      [[path.join(dir, 'missing.json'), '--user', email], /cannot read .*missing\.json/],
      [[file, '--user', email, '--project', 'abc'], /--project must be a project id/],
      [[file, '--user', email, '--project', project], /--project/],
      [[file, '--user', email, '--bogus'], /unknown option/],
    ];
    for (const [args, message] of cases) {
      const run = await runCli(env, ...args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(message);
    }
  });

  it('a cut-short or foreign file: the whole entries before the cut are imported, the rest reported', async () => {
    const whole = JSON.stringify([
      { id: 'cut-1', type: 'camera', mediaBlob: dataUrl(Buffer.concat([webm, Buffer.from('cut-1')])) },
      { id: 'cut-2', type: 'camera', mediaBlob: dataUrl(Buffer.concat([webm, Buffer.from('cut-2')])) },
    ]);
    const file = path.join(dir, 'cut.json');
    fs.writeFileSync(file, whole.slice(0, whole.length - 500));
    const cut = await runCli(env, file, '--user', email);
    expect(cut.code).toBe(1);
    expect(count(cut.stdout, 'imported')).toBe(1);
    expect(cut.stdout).toContain('UNREADABLE_JSON');
    expect(cut.stdout).toContain('cut short');

    fs.writeFileSync(file, '{"savedRecordings": "not an array"}');
    const foreign = await runCli(env, file, '--user', email);
    expect(foreign.code).toBe(1);
    expect(foreign.stdout).toContain('not an export');
  });

  it('Ctrl-C stops after the entry at hand, leaves no temp file; the same command again imports the rest', async () => {
    const items = 40;
    const file = path.join(dir, 'interrupted.json');
    const entries = Array.from({ length: items }, (_, i) => ({
      id: `int-${i}`,
      type: 'camera',
      mediaBlob: dataUrl(Buffer.concat([webm, Buffer.alloc(4 * MiB, i)])),
    }));
    fs.writeFileSync(file, JSON.stringify(entries));
    const before = await recordings();
    const child = spawn(process.execPath, [BIN, 'import', 'legacy', file, '--user', email], { env, stdio: 'pipe' });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const deadline = Date.now() + 60_000;
    while ((await recordings()) - before < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    expect(await exited).toBe(1);
    expect(stdout).toContain('interrupted after');
    const done = (await recordings()) - before;
    expect(done).toBeGreaterThanOrEqual(3);
    expect(done).toBeLessThan(items);
    expect(fs.readdirSync(path.join(dir, 'data', 'tmp'))).toEqual([]);
    const open = await c.query(`SELECT status FROM legacy_imports ORDER BY id DESC LIMIT 1`);
    expect(open.rows[0].status).toBe('running');

    const rest = await runCli(env, file, '--user', email);
    expect(rest.code, rest.stdout).toBe(0);
    expect(count(rest.stdout, 'imported')).toBe(items - done);
    expect(count(rest.stdout, 'already there')).toBe(done);
    expect((await recordings()) - before).toBe(items);
  });

  it('streams a 2 GB export: peak memory < 150 MB above a tiny import; a second run imports 0', async () => {
    const tiny = path.join(dir, 'tiny.json');
    fs.writeFileSync(tiny, JSON.stringify([{ id: 'tiny', type: 'camera', mediaBlob: dataUrl(webm) }]));
    const baseline = await runCli(env, tiny, '--user', email);
    expect(baseline.code, baseline.stdout + baseline.stderr).toBe(0);

    const items = Math.ceil(BIG_JSON_BYTES / ((BIG_ITEM * 4) / 3));
    const big = path.join(dir, 'big.json');
    await writeBigExport(big, webm, items);
    expect(fs.statSync(big).size).toBeGreaterThanOrEqual(BIG_JSON_BYTES);
    const before = await recordings();

    const first = await runCli(env, big, '--user', email);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(count(first.stdout, 'imported')).toBe(items);
    const [peak, tinyPeak] = [peakMiB(first.stdout), peakMiB(baseline.stdout)];
    const growth = peak - tinyPeak;
    console.info(`2 GB import: ${first.seconds.toFixed(0)} s, peak memory ${peak} MiB (tiny import: ${tinyPeak})`);
    expect(growth).toBeLessThan((150 * 1e6) / MiB);
    expect(await recordings()).toBe(before + items);
    const { rows } = await c.query(
      `SELECT sum(file_size)::bigint AS bytes, count(DISTINCT metadata->>'upload_sha256')::int AS distinct_sha
         FROM recordings WHERE user_id = $1 AND title LIKE 'Big %'`,
      [userId],
    );
    expect(Number(rows[0].bytes)).toBe(items * BIG_ITEM);
    expect(rows[0].distinct_sha).toBe(items);

    const again = await runCli(env, big, '--user', email);
    expect(again.code).toBe(0);
    expect(count(again.stdout, 'imported')).toBe(0);
    expect(count(again.stdout, 'already there')).toBe(items);
    expect(await recordings()).toBe(before + items);
    fs.rmSync(big);
  }, 600_000);
});
