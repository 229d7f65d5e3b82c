/**
 * Generated, repeatable test data and the two loaders (COPY FROM STDIN, multi-row INSERT).
 * Rows come from a seeded PRNG, so any slice is an exact prefix of the full data set.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { msSince, now, Progress, rng } from './stats.js';

/** Every column the generator can fill; a run loads those the migrated schema has (see recordingColumns). */
export const RECORDING_COLUMNS = [
  'user_id',
  'project_id',
  'title',
  'description',
  'recording_type',
  'duration',
  'file_size',
  'mime_type',
  'storage_url',
  'thumbnail_url',
  'quality',
  'status',
  'metadata',
  'created_at',
  'updated_at',
  // Phase 2 (migration 0007): where the media object lives.
  'storage_provider',
  'storage_key',
  'storage_region',
  'storage_bucket',
  'cdn_url',
] as const;

/** The generator's columns that the migrated recordings table has, in generator order. */
export async function recordingColumns(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ c: string }>(
    `SELECT column_name AS c FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = 'recordings'`,
  );
  const have = new Set(rows.map((r) => r.c));
  return RECORDING_COLUMNS.filter((c) => have.has(c));
}

export type Value = string | number | null;
/** One recordings row, in Dataset.columns order. */
export type Row = Value[];

/** PostgreSQL's bind-parameter limit per statement (a 16-bit count in the protocol). */
export const MAX_PARAMS = 65535;

export interface Dataset {
  seed: number;
  users: number;
  rows: number;
  /** created_at runs from `start` to start + spanMs, in id order, as a live system would write them. */
  start: number;
  spanMs: number;
  /** Project id of the users that own one (index = user number). */
  projectOf: (number | undefined)[];
  /** The columns rows are generated for: recordingColumns() of the target database. */
  columns: readonly string[];
}

export const userId = (i: number): string => `u${String(i).padStart(6, '0')}`;

type Weighted<T> = [T, number][];
function picker<T>(items: Weighted<T>): (r: number) => T {
  const total = items.reduce((a, [, w]) => a + w, 0);
  return (r) => {
    let x = r * total;
    for (const [v, w] of items) {
      x -= w;
      if (x < 0) return v;
    }
    return items[items.length - 1]![0];
  };
}

const pickType = picker<string>([
  ['screen', 35],
  ['screen-camera', 20],
  ['camera', 20],
  ['audio', 10],
  ['slides-camera', 10],
  ['slides', 5],
]);
const pickQuality = picker<string>([
  ['high', 60],
  ['medium', 30],
  ['low', 10],
]);
const pickRegion = picker<string>([
  ['eu-west-1', 60],
  ['us-east-1', 40],
]);
const pickStatus = picker<string>([
  ['completed', 90],
  ['processing', 6],
  ['failed', 4],
]);
const SUBJECTS = [
  'Weekly standup',
  'Bug repro',
  'Product demo',
  'Onboarding walkthrough',
  'Code review',
  'Lecture',
  'Podcast episode',
  'Sales call',
  'Design review',
  'Tutorial',
  'Customer interview',
  'Release notes',
  'Sprint retro',
  'Feature tour',
];
const BYTES_PER_SECOND: Record<string, number> = { high: 625_000, medium: 250_000, low: 100_000 };
const FRAME: Record<string, string> = {
  high: '{"width": 1920, "height": 1080, "fps": 30}',
  medium: '{"width": 1280, "height": 720, "fps": 30}',
  low: '{"width": 854, "height": 480, "fps": 24}',
};

/**
 * Recordings per user are skewed (user k's share falls off like a square-root law): the
 * heaviest user has ~1% of all rows, the lightest still a few pages' worth.
 */
export function* recordingRows(ds: Dataset, count: number, seed = ds.seed): Generator<Row> {
  const r = rng(seed);
  const pick = ds.columns.map((c) => RECORDING_COLUMNS.indexOf(c as (typeof RECORDING_COLUMNS)[number]));
  if (pick.includes(-1))
    throw new Error(`no generator for column(s) ${ds.columns.filter((_, i) => pick[i] === -1).join(', ')}`);
  const step = ds.spanMs / ds.rows;
  for (let i = 0; i < count; i++) {
    const u = Math.min(ds.users - 1, Math.floor(ds.users * r() ** 2));
    const user = userId(u);
    const type = pickType(r());
    const audio = type === 'audio';
    const quality = pickQuality(r());
    const status = pickStatus(r());
    // Most takes are short: median ~7.5 min, a long tail up to the hour.
    const duration = 1 + Math.floor(3599 * r() ** 3);
    const fileSize = Math.max(
      1,
      Math.round(duration * (audio ? 16_000 : BYTES_PER_SECOND[quality]!) * (0.7 + 0.6 * r())),
    );
    const created = ds.start + Math.floor(i * step + r() * step);
    const createdIso = new Date(created).toISOString();
    const subject = SUBJECTS[Math.floor(r() * SUBJECTS.length)]!;
    const title = r() < 0.5 ? `${subject} ${createdIso.slice(0, 10)}` : `${subject} #${1 + Math.floor(r() * 999)}`;
    const description = r() < 0.35 ? `${subject} recorded in ${quality} quality` : null;
    const project = ds.projectOf[u] !== undefined && r() < 0.6 ? ds.projectOf[u]! : null;
    // The separator keeps keys unique: without it row 1 + "2ab" and row 12 + "ab" would collide.
    const key = `${i.toString(36)}-${Math.floor(r() * 1e9).toString(36)}`;
    const mime = audio ? 'audio/webm' : r() < 0.2 ? 'video/mp4' : 'video/webm';
    const ext = mime === 'video/mp4' ? 'mp4' : 'webm';
    const thumbnail =
      audio || status === 'processing' ? null : `https://storage.example.com/thumbnails/${user}/${key}.jpg`;
    const metadata = audio ? '{"sampleRate": 48000, "channels": 2}' : FRAME[quality]!;
    const updated = status === 'processing' ? created : created + duration * 1000 + Math.floor(r() * 60_000);
    // Unique (idx_recordings_storage_key): the key embeds the row number. Failed takes never stored an object.
    const s3 = r() < 0.7;
    const storageKey = status === 'failed' ? null : `recordings/${user}/${key}.${ext}`;
    const full: Row = [
      user,
      project,
      title,
      description,
      type,
      duration,
      fileSize,
      mime,
      storageKey ? (s3 ? `s3://recorder-media/${storageKey}` : `file:///var/lib/recorder/media/${storageKey}`) : null,
      thumbnail,
      quality,
      status,
      metadata,
      createdIso,
      new Date(updated).toISOString(),
      s3 ? 's3' : 'local',
      storageKey,
      s3 ? pickRegion(r()) : null,
      s3 ? 'recorder-media' : null,
      s3 && storageKey && status === 'completed' ? `https://cdn.example.com/${storageKey}` : null,
    ];
    yield pick.map((i) => full[i]!);
  }
}

/** COPY text format: NULL is \N; backslash, tab and newlines must be escaped. */
function copyText(v: Value): string {
  if (v === null) return '\\N';
  if (typeof v === 'number') return String(v);
  return v.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

export interface LoadResult {
  rows: number;
  ms: number;
  rowsPerSec: number;
}

/** COPY ... FROM STDIN fed by a stream of generated rows, so 1M rows never sit in memory. */
export async function copyRows(
  client: pg.Client,
  table: string,
  columns: readonly string[],
  rows: Iterable<Row>,
  total: number,
  label: string,
): Promise<LoadResult> {
  const progress = new Progress(label, total);
  let n = 0;
  function* chunks(): Generator<string> {
    let buf: string[] = [];
    for (const row of rows) {
      buf.push(row.map(copyText).join('\t'));
      if (buf.length === 1000) {
        n += buf.length;
        progress.update(n);
        yield `${buf.join('\n')}\n`;
        buf = [];
      }
    }
    if (buf.length) {
      n += buf.length;
      yield `${buf.join('\n')}\n`;
    }
  }
  const t0 = now();
  const copy = client.query(copyStreams.from(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
  await pipeline(Readable.from(chunks(), { objectMode: false }), copy);
  const ms = msSince(t0);
  progress.done(n);
  return { rows: n, ms, rowsPerSec: n / (ms / 1000) };
}

/** Multi-row INSERT with bind parameters only: the SQL text is reused, the values never enter it. */
export async function insertRows(
  client: pg.Client,
  table: string,
  columns: readonly string[],
  rows: Iterable<Row>,
  total: number,
  perStatement: number,
  label?: string,
): Promise<LoadResult> {
  if (perStatement * columns.length > MAX_PARAMS) {
    throw new Error(
      `${perStatement} rows x ${columns.length} columns exceeds the ${MAX_PARAMS}-parameter limit ` +
        `(max ${Math.floor(MAX_PARAMS / columns.length)} rows)`,
    );
  }
  const texts = new Map<number, string>();
  const sql = (k: number) => {
    let t = texts.get(k);
    if (!t) {
      const tuples: string[] = [];
      for (let i = 0; i < k; i++)
        tuples.push(`(${columns.map((_, c) => `$${i * columns.length + c + 1}`).join(', ')})`);
      t = `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${tuples.join(', ')}`;
      texts.set(k, t);
    }
    return t;
  };
  const progress = label ? new Progress(label, total) : undefined;
  let n = 0;
  let batch: Value[] = [];
  let k = 0;
  const t0 = now();
  const flush = async () => {
    await client.query(sql(k), batch);
    n += k;
    progress?.update(n);
    batch = [];
    k = 0;
  };
  for (const row of rows) {
    batch.push(...row);
    if (++k === perStatement) await flush();
  }
  if (k) await flush();
  const ms = msSince(t0);
  progress?.done(n);
  return { rows: n, ms, rowsPerSec: n / (ms / 1000) };
}

/** Users (via COPY) and one project per 50 users; fills ds.projectOf. */
export async function seedUsersAndProjects(
  client: pg.Client,
  ds: Dataset,
): Promise<{ users: number; projects: number }> {
  const r = rng(ds.seed ^ 0x5eed);
  function* users(): Generator<Row> {
    for (let i = 0; i < ds.users; i++) {
      const signup = ds.start - Math.floor(r() * 180 * 86_400_000);
      yield [userId(i), `user${i}@example.com`, `User ${i}`, new Date(signup).toISOString()];
    }
  }
  const u = await copyRows(client, 'users', ['id', 'email', 'display_name', 'created_at'], users(), ds.users, 'users');
  const owners: number[] = [];
  for (let i = 0; i < ds.users; i += 50) owners.push(i);
  // 2 parameters a row: chunk well under the parameter limit.
  for (let s = 0; s < owners.length; s += 10_000) {
    const chunk = owners.slice(s, s + 10_000);
    const { rows } = await client.query<{ id: string; owner_id: string }>(
      `INSERT INTO projects (owner_id, name)
        VALUES ${chunk.map((_, i) => `($${2 * i + 1}, $${2 * i + 2})`).join(', ')} RETURNING id, owner_id`,
      chunk.flatMap((o) => [userId(o), `Team space of User ${o}`]),
    );
    for (const p of rows) ds.projectOf[Number(p.owner_id.slice(1))] = Number(p.id);
  }
  return { users: u.rows, projects: owners.length };
}
