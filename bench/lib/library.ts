/**
 * The library page (a user's newest recordings, keyset-paginated) without and with the recordings
 * indexes of migration 0003, plus the EXPLAIN helpers the other scenarios share.
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { MIGRATIONS_DIR } from './server.js';
import { msSince, now, rng, summarize, type Summary } from './stats.js';
import { userId } from './data.js';

const LISTING = 'id, title, recording_type, duration, quality, status, thumbnail_url, created_at';
export const LIBRARY_FIRST = `SELECT ${LISTING} FROM recordings WHERE user_id = $1
  ORDER BY created_at DESC, id DESC LIMIT 50`;
export const LIBRARY_NEXT = `SELECT ${LISTING} FROM recordings WHERE user_id = $1 AND (created_at, id) < ($2, $3)
  ORDER BY created_at DESC, id DESC LIMIT 50`;

/**
 * Keyset cursors must round-trip exactly: a JS Date drops microseconds, so the benchmark's client
 * keeps timestamps as the server's text.
 */
export const rawTimestamps: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 1184 || oid === 1114
      ? (v: string) => v
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

/** The plan as a one-line chain, e.g. "Limit > Incremental Sort > Index Scan using idx_x on recordings". */
export function planChain(node: PlanNode): string {
  const index = node['Index Name'] ? ` using ${node['Index Name']}` : '';
  const relation = node['Relation Name'] ? ` on ${node['Relation Name']}` : '';
  const self = `${node['Node Type']}${index}${relation}`;
  const kids = (node.Plans ?? []).map(planChain);
  if (!kids.length) return self;
  return kids.length === 1 ? `${self} > ${kids[0]}` : `${self} > [${kids.join(' ; ')}]`;
}

export interface Explained {
  plan: string;
  executionMs: number;
}

export async function explain(client: pg.Client, sql: string, params: unknown[]): Promise<Explained> {
  const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode; 'Execution Time': number }] }>(
    `EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`,
    params,
  );
  const top = rows[0]!['QUERY PLAN'][0];
  return { plan: planChain(top.Plan), executionMs: top['Execution Time'] };
}

export interface IndexDef {
  name: string;
  def: string;
}

export interface RecordingIndexes {
  indexes: IndexDef[];
  /** The migration files that declare them, e.g. ["0003_phase1_recordings.up.sql", ...]. */
  files: string[];
}

/**
 * The idx_recordings_* indexes as the database holds them, checked against the CREATE INDEX
 * statements of the migrations: recreating from pg_get_indexdef then gives back exactly what the
 * migrations built.
 */
export async function recordingIndexes(client: pg.Client): Promise<RecordingIndexes> {
  const { rows } = await client.query<IndexDef>(
    `SELECT indexname AS name, indexdef AS def FROM pg_indexes
      WHERE schemaname = current_schema() AND tablename = 'recordings' AND indexname LIKE 'idx\\_recordings\\_%'
      ORDER BY indexname`,
  );
  const declared = new Map<string, string>();
  for (const file of fs
    .readdirSync(MIGRATIONS_DIR)
    .filter((f) => f.endsWith('.up.sql'))
    .sort()) {
    const sql = fs.readFileSync(path.join(MIGRATIONS_DIR, file), 'utf8');
    for (const m of sql.matchAll(
      /CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?(idx_recordings_\w+)/gi,
    ))
      declared.set(m[1]!, file);
    for (const m of sql.matchAll(/DROP\s+INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+EXISTS\s+)?(idx_recordings_\w+)/gi))
      declared.delete(m[1]!);
  }
  const live = rows.map((r) => r.name).join(', ');
  const want = [...declared.keys()].sort().join(', ');
  if (live !== want)
    throw new Error(`recordings indexes in the database (${live}) differ from the migrations (${want})`);
  return { indexes: rows, files: [...new Set(declared.values())].sort() };
}

export interface LibraryResult {
  first: Summary;
  next: Summary;
  all: Summary;
  explain: Explained;
  /** True when the query budget ran out before `queries` were run (the baseline is slow). */
  timeBounded: boolean;
}

export interface LibraryOptions {
  users: number;
  queries: number;
  pagesPerUser: number;
  budgetMs: number;
  seed: number;
}

/**
 * Random users' first page, then up to pagesPerUser-1 follow pages from the last row's cursor. The
 * same seed in both modes runs the same queries (the baseline may stop early on its time budget).
 */
export async function runLibrary(client: pg.Client, o: LibraryOptions): Promise<LibraryResult> {
  const r = rng(o.seed);
  const first: number[] = [];
  const next: number[] = [];
  const t0 = now();
  let explained: Explained | undefined;
  let timeBounded = false;
  type Page = { id: string; created_at: string }[];
  const timed = async (sql: string, params: unknown[], into: number[]): Promise<Page> => {
    const s = now();
    const res = await client.query<{ id: string; created_at: string }>(sql, params);
    into.push(msSince(s));
    return res.rows;
  };
  while (first.length + next.length < o.queries) {
    if (msSince(t0) > o.budgetMs) {
      timeBounded = true;
      break;
    }
    const user = userId(Math.floor(r() * o.users));
    let page = await timed(LIBRARY_FIRST, [user], first);
    for (let p = 1; p < o.pagesPerUser && page.length === 50 && first.length + next.length < o.queries; p++) {
      const last = page[49]!;
      const params = [user, last.created_at, last.id];
      explained ??= await explain(client, LIBRARY_NEXT, params);
      page = await timed(LIBRARY_NEXT, params, next);
    }
  }
  if (!explained) throw new Error('no user had a second library page to EXPLAIN; raise BENCH_ROWS');
  return {
    first: summarize(first),
    next: summarize(next),
    all: summarize([...first, ...next]),
    explain: explained,
    timeBounded,
  };
}
