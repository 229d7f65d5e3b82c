/**
 * Is idx_recordings_user_id (user_id) worth having next to idx_recordings_user_created
 * (user_id, created_at DESC)? The same user_id lookups, the users ON DELETE CASCADE and a bulk insert,
 * with the indexes led by user_id that our schema has, and with the spec's extra index too.
 */
import type pg from 'pg';
import { explain, type Explained } from './library.js';
import { insertRows, recordingRows, userId, type Dataset } from './data.js';
import { msSince, now, rng, summarize, type Summary } from './stats.js';

const COUNT = 'SELECT count(*) FROM recordings WHERE user_id = $1';
const IDS = 'SELECT id FROM recordings WHERE user_id = $1';
const DELETE_USER = 'DELETE FROM users WHERE id = $1';

export interface UserIndexMode {
  count: Summary;
  ids: Summary;
  /** DELETE FROM users, cascading to projects and recordings; rolled back so every mode sees the same rows. */
  deleteCascade: Summary;
  /** p50 of each round, in round order: the paired comparison behind the verdict. */
  roundP50: Record<Metric, number[]>;
  /** Median over the rounds of a rolled-back multi-row INSERT. */
  insertRowsPerSec: number;
  /** Slowest and fastest round: on a busy machine the spread can exceed the difference between modes. */
  insertRowsPerSecRange: [number, number];
  /** WAL written per inserted row (median): the write amplification, independent of machine load. */
  insertWalBytesPerRow: number;
  plans: { count: Explained; ids: Explained };
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

type Mode = 'ours' | 'spec';
const METRICS = ['count', 'ids', 'deleteCascade'] as const;
type Metric = (typeof METRICS)[number];

interface Samples {
  count: number[];
  ids: number[];
  del: number[];
  insert: number[];
  wal: number[];
}

async function timeEach(client: pg.Client, sql: string, users: string[], into: number[]): Promise<void> {
  for (const u of users) {
    const t = now();
    await client.query(sql, [u]);
    into.push(msSince(t));
  }
}

/**
 * Runs fn in one transaction that, for "ours", first drops idx_recordings_user_id; the ROLLBACK
 * brings it back. Switching modes is then free, so the modes can alternate round by round and
 * background load on the machine hits both alike.
 */
async function inMode<T>(client: pg.Client, mode: Mode, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    if (mode === 'ours') await client.query('DROP INDEX idx_recordings_user_id');
    return await fn();
  } finally {
    await client.query('ROLLBACK');
  }
}

async function lookups(client: pg.Client, users: string[], deletes: string[], into: Samples): Promise<void> {
  await timeEach(client, COUNT, users, into.count);
  await timeEach(client, IDS, users, into.ids);
  for (const u of deletes) {
    await client.query('SAVEPOINT del');
    const t = now();
    await client.query(DELETE_USER, [u]);
    into.del.push(msSince(t));
    await client.query('ROLLBACK TO SAVEPOINT del');
  }
}

/** Even, so the ABBA order puts each mode first equally often. */
export const ROUNDS = 6;

async function measureBoth(
  client: pg.Client,
  ds: Dataset,
  sample: string[],
  o: UserIndexOptions,
): Promise<Record<Mode, UserIndexMode>> {
  const s: Record<Mode, Samples> = {
    ours: { count: [], ids: [], del: [], insert: [], wal: [] },
    spec: { count: [], ids: [], del: [], insert: [], wal: [] },
  };
  // Untimed pass over the same users in both modes. Besides warming each mode's preferred index, it
  // makes the rolled-back deletes pay once for what only the first writer to a page after VACUUM
  // pays (full-page images in WAL, clearing all-visible bits); otherwise the mode that happens to
  // delete a user first looks ~50% slower.
  const warm: Samples = { count: [], ids: [], del: [], insert: [], wal: [] };
  for (const m of ['ours', 'spec'] as const)
    await inMode(client, m, () => lookups(client, sample, sample.slice(0, o.deletes), warm));
  const roundP50: Record<Mode, Record<Metric, number[]>> = {
    ours: { count: [], ids: [], deleteCascade: [] },
    spec: { count: [], ids: [], deleteCascade: [] },
  };
  const chunk = Math.ceil(sample.length / ROUNDS);
  const delChunk = Math.ceil(o.deletes / ROUNDS);
  for (let r = 0; r < ROUNDS; r++) {
    const users = sample.slice(r * chunk, (r + 1) * chunk);
    const deletes = sample.slice(r * delChunk, Math.min(o.deletes, (r + 1) * delChunk));
    // ABBA order: neither mode always runs first.
    for (const m of r % 2 ? (['spec', 'ours'] as const) : (['ours', 'spec'] as const)) {
      const one: Samples = { count: [], ids: [], del: [], insert: [], wal: [] };
      await inMode(client, m, () => lookups(client, users, deletes, one));
      s[m].count.push(...one.count);
      s[m].ids.push(...one.ids);
      s[m].del.push(...one.del);
      roundP50[m].count.push(summarize(one.count).p50);
      roundP50[m].ids.push(summarize(one.ids).p50);
      roundP50[m].deleteCascade.push(summarize(one.del).p50);
    }
  }
  // Inserts last: even rolled back they leave dead heap tuples and index entries the lookups would wade through.
  for (let r = 0; r < ROUNDS; r++) {
    for (const m of r % 2 ? (['spec', 'ours'] as const) : (['ours', 'spec'] as const)) {
      const rows = recordingRows(ds, o.insertRows, o.seed + r);
      await inMode(client, m, async () => {
        const lsn = async () =>
          (await client.query<{ l: string }>('SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0]!.l;
        const before = await lsn();
        const res = await insertRows(client, 'recordings', ds.columns, rows, o.insertRows, 1000);
        const { rows: w } = await client.query<{ b: string }>(
          'SELECT pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)::bigint AS b',
          [await lsn(), before],
        );
        s[m].insert.push(res.rowsPerSec);
        s[m].wal.push(Number(w[0]!.b) / res.rows);
      });
    }
  }
  // A median-ish user for the plans: the sample is uniform over users.
  const planUser = sample[Math.floor(sample.length / 2)]!;
  const out = {} as Record<Mode, UserIndexMode>;
  for (const m of ['ours', 'spec'] as const) {
    const plans = await inMode(client, m, async () => ({
      count: await explain(client, COUNT, [planUser]),
      ids: await explain(client, IDS, [planUser]),
    }));
    const rates = [...s[m].insert].sort((a, b) => a - b);
    const wal = [...s[m].wal].sort((a, b) => a - b);
    out[m] = {
      count: summarize(s[m].count),
      ids: summarize(s[m].ids),
      deleteCascade: summarize(s[m].del),
      roundP50: roundP50[m],
      insertRowsPerSec: rates[Math.floor(rates.length / 2)]!,
      insertRowsPerSecRange: [rates[0]!, rates[rates.length - 1]!],
      insertWalBytesPerRow: Math.round(wal[Math.floor(wal.length / 2)]!),
      plans,
    };
  }
  return out;
}

const size = async (client: pg.Client, rel: string): Promise<number> =>
  Number(
    (await client.query<{ b: string }>('SELECT pg_relation_size(to_regclass($1))::bigint AS b', [rel])).rows[0]!.b,
  );

export async function runUserIndex(client: pg.Client, ds: Dataset, o: UserIndexOptions): Promise<UserIndexResult> {
  const r = rng(o.seed);
  const sample = Array.from({ length: o.lookups }, () => userId(Math.floor(r() * o.users)));

  const t = now();
  await client.query('CREATE INDEX idx_recordings_user_id ON recordings (user_id)');
  const userIdBuildMs = msSince(t);
  await client.query('ANALYZE recordings');
  let modes: Record<Mode, UserIndexMode>;
  let sizes: UserIndexResult['sizes'];
  try {
    // Before the rolled-back inserts bloat them.
    sizes = {
      userCreatedBytes: await size(client, 'idx_recordings_user_created'),
      userTypeBytes: await size(client, 'idx_recordings_user_type'),
      userIdBytes: await size(client, 'idx_recordings_user_id'),
      tableBytes: await size(client, 'recordings'),
    };
    modes = await measureBoth(client, ds, sample, o);
  } finally {
    await client.query('DROP INDEX IF EXISTS idx_recordings_user_id');
    // Clears the rolled-back inserts' leftovers before the next scenario.
    await client.query('VACUUM (ANALYZE) recordings');
  }
  const { ours, spec } = modes;
  const userIdBytes = sizes.userIdBytes;

  // On a shared machine the same mode's p50 swings by 2x from one pass to the next, so a single
  // overall p50 gap proves nothing. "Helps" = the extra index is >=10% faster in all rounds but at
  // most one (the rounds pair the modes in time) and >=20% (and 0.05 ms) faster overall.
  const gains = METRICS.map((k) => {
    const wins = ours.roundP50[k].filter((o, i) => spec.roundP50[k][i]! < o * 0.9).length;
    return { k, ours: ours[k].p50, spec: spec[k].p50, wins };
  });
  const helped = gains.filter((g) => g.wins >= ROUNDS - 1 && g.spec < g.ours * 0.8 && g.ours - g.spec > 0.05);
  const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;
  const walPct = ((spec.insertWalBytesPerRow - ours.insertWalBytesPerRow) / ours.insertWalBytesPerRow) * 100;
  const inserts =
    `+${walPct.toFixed(0)}% WAL per inserted row, ${ours.insertWalBytesPerRow} -> ${spec.insertWalBytesPerRow} B; ` +
    `bulk INSERT median ${Math.round(ours.insertRowsPerSec)} vs ${Math.round(spec.insertRowsPerSec)} rows/s`;
  const keepOut = helped.length === 0;
  const used = [
    ...new Set(
      [ours.plans.count.plan, ours.plans.ids.plan].flatMap((p) => [...p.matchAll(/using (\w+)/g)].map((m) => m[1]!)),
    ),
  ].join(', ');
  const p50s = (g: (typeof gains)[number]) => `${g.ours.toFixed(2)} vs ${g.spec.toFixed(2)} ms`;
  const noise = gains.map((g) => `${g.k} ${p50s(g)}, extra index >=10% faster in ${g.wins}/${ROUNDS} rounds`);
  const faster = helped.map((g) => `${g.k} (p50 ${p50s(g).replace(' vs ', ' -> ')}, ${g.wins}/${ROUNDS} rounds)`);
  const verdict = keepOut
    ? `keep idx_recordings_user_id out: without it the planner serves user_id lookups from ${used}, ` +
      `within noise of the extra index (p50 ${noise.join('; ')}); it would cost ` +
      `${mb(userIdBytes)} and one more index write per inserted row (${inserts})`
    : `idx_recordings_user_id measurably speeds up ${faster.join(', ')} ` +
      `for ${mb(userIdBytes)} (${inserts}): reconsider leaving it out`;
  return { ours, spec, sizes, userIdBuildMs, insertRows: o.insertRows, verdict, keepOut };
}
