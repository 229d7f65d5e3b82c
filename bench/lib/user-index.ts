/**
 * Is idx_recordings_user_id (user_id) worth having next to idx_recordings_user_created
 * (user_id, created_at DESC)? The same user_id lookups, the users ON DELETE CASCADE and a bulk insert,
 * first with the composite index only (our schema), then with the spec's extra index.
 */
import type pg from 'pg';
import { explain, type Explained } from './library.js';
import { insertRows, RECORDING_COLUMNS, recordingRows, userId, type Dataset } from './data.js';
import { msSince, now, rng, summarize, type Summary } from './stats.js';

const COUNT = 'SELECT count(*) FROM recordings WHERE user_id = $1';
const IDS = 'SELECT id FROM recordings WHERE user_id = $1';
const DELETE_USER = 'DELETE FROM users WHERE id = $1';

export interface UserIndexMode {
  count: Summary;
  ids: Summary;
  /** DELETE FROM users, cascading to projects and recordings; rolled back so every mode sees the same rows. */
  deleteCascade: Summary;
  insertRowsPerSec: number;
  plans: { count: Explained; ids: Explained; deleteCascade: Explained };
}

export interface UserIndexResult {
  ours: UserIndexMode;
  spec: UserIndexMode;
  sizes: { userCreatedBytes: number; userTypeBytes: number; userIdBytes: number; tableBytes: number };
  userIdBuildMs: number;
  insertRows: number;
  verdict: string;
  keepOut: boolean;
}

export interface UserIndexOptions {
  users: number;
  lookups: number;
  deletes: number;
  insertRows: number;
  seed: number;
}

async function timeEach(client: pg.Client, sql: string, users: string[]): Promise<Summary> {
  const ms: number[] = [];
  for (const u of users) {
    const t = now();
    await client.query(sql, [u]);
    ms.push(msSince(t));
  }
  return summarize(ms);
}

async function measure(client: pg.Client, ds: Dataset, sample: string[], o: UserIndexOptions): Promise<UserIndexMode> {
  // Warm the cache for whichever index the planner now prefers, so neither mode pays first reads.
  for (const u of sample.slice(0, 50)) await client.query(IDS, [u]);
  const count = await timeEach(client, COUNT, sample);
  const ids = await timeEach(client, IDS, sample);

  const del: number[] = [];
  for (const u of sample.slice(0, o.deletes)) {
    await client.query('BEGIN');
    const t = now();
    await client.query(DELETE_USER, [u]);
    del.push(msSince(t));
    await client.query('ROLLBACK');
  }

  // A median-ish user for the plans: the sample is uniform over users.
  const planUser = sample[Math.floor(sample.length / 2)]!;
  await client.query('BEGIN');
  let deletePlan: Explained;
  try {
    deletePlan = await explain(client, DELETE_USER, [planUser]);
  } finally {
    await client.query('ROLLBACK');
  }
  const plans = { count: await explain(client, COUNT, [planUser]), ids: await explain(client, IDS, [planUser]), deleteCascade: deletePlan };

  // Every index is one more write per inserted row. Rolled back so the table is unchanged; the
  // median of three runs, because a single run of a few seconds swings by ±10%.
  const rates: number[] = [];
  for (let i = 0; i < 3; i++) {
    await client.query('BEGIN');
    try {
      rates.push((await insertRows(client, 'recordings', RECORDING_COLUMNS, recordingRows(ds, o.insertRows, o.seed + i), o.insertRows, 1000)).rowsPerSec);
    } finally {
      await client.query('ROLLBACK');
    }
  }
  const rowsPerSec = rates.sort((a, b) => a - b)[1]!;
  return { count, ids, deleteCascade: summarize(del), insertRowsPerSec: rowsPerSec, plans };
}

const size = async (client: pg.Client, rel: string): Promise<number> =>
  Number((await client.query<{ b: string }>('SELECT pg_relation_size(to_regclass($1))::bigint AS b', [rel])).rows[0]!.b);

export async function runUserIndex(client: pg.Client, ds: Dataset, o: UserIndexOptions): Promise<UserIndexResult> {
  const r = rng(o.seed);
  const sample = Array.from({ length: o.lookups }, () => userId(Math.floor(r() * o.users)));

  const ours = await measure(client, ds, sample, o);

  const t = now();
  await client.query('CREATE INDEX idx_recordings_user_id ON recordings (user_id)');
  const userIdBuildMs = msSince(t);
  await client.query('ANALYZE recordings');
  let spec: UserIndexMode;
  let userIdBytes: number;
  try {
    userIdBytes = await size(client, 'idx_recordings_user_id');
    spec = await measure(client, ds, sample, o);
  } finally {
    await client.query('DROP INDEX IF EXISTS idx_recordings_user_id');
    await client.query('ANALYZE recordings');
  }

  const sizes = {
    userCreatedBytes: await size(client, 'idx_recordings_user_created'),
    userTypeBytes: await size(client, 'idx_recordings_user_type'),
    userIdBytes,
    tableBytes: await size(client, 'recordings'),
  };

  // "Helps" = at least 20% and 0.05 ms faster at the median on some lookup; smaller gaps are run-to-run noise.
  const gains = (['count', 'ids', 'deleteCascade'] as const).map((k) => ({ k, ours: ours[k].p50, spec: spec[k].p50 }));
  const helped = gains.filter((g) => g.spec < g.ours * 0.8 && g.ours - g.spec > 0.05);
  const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;
  const insertCost = ((ours.insertRowsPerSec - spec.insertRowsPerSec) / ours.insertRowsPerSec) * 100;
  const keepOut = helped.length === 0;
  const verdict = keepOut
    ? `keep idx_recordings_user_id out: the composite index serves user_id lookups and the delete cascade within noise ` +
      `(p50 ${gains.map((g) => `${g.k} ${g.ours.toFixed(2)} vs ${g.spec.toFixed(2)} ms`).join(', ')}); the extra index would cost ` +
      `${mb(userIdBytes)} and ${insertCost.toFixed(0)}% of bulk-insert throughput`
    : `idx_recordings_user_id measurably speeds up ${helped.map((g) => `${g.k} (p50 ${g.ours.toFixed(2)} -> ${g.spec.toFixed(2)} ms)`).join(', ')} ` +
      `for ${mb(userIdBytes)} and ${insertCost.toFixed(0)}% of bulk-insert throughput: reconsider leaving it out`;
  return { ours, spec, sizes, userIdBuildMs, insertRows: o.insertRows, verdict, keepOut };
}
