/**
 * The library query at scale (issue 9, item 7) and migration 0018, on a recordings table holding rows:
 *  - 0018 builds idx_recordings_project_created (project_id, created_at DESC, id DESC) CONCURRENTLY,
 *    outside a transaction, without rewriting the table; its down gives back the catalog of 17 exactly;
 *  - a library page reads a bounded number of recordings (each source walked in page order and stopped
 *    after one page), not every recording newer than the page or of the user's projects: before, a user
 *    in 20 projects whose recordings are older than 40,000 others read all of those to show 51 rows;
 *  - the rewritten query returns exactly what "theirs, or in a project they belong to" means, for every
 *    filter and every page of a keyset walk, compared with the plain SQL of that sentence.
 * Counting rows read is deterministic where a timing would not be; the times are in bench:library.
 * One PostgreSQL target: nothing here depends on the version.
 */
import { Kysely, PostgresDialect, type CompiledQuery } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DB } from '../src/server/db/schema.js';
import { type ListFilter, RecordingsRepository } from '../src/server/recordings/recordings.repository.js';
import { catalogSnapshot } from './support/catalog.js';
import { connect, freshDatabase, migrator, pgTargets } from './support/db.js';

const INDEX = 'idx_recordings_project_created';
/** Projects of bob that alice belongs to; carol's projects she does not. */
const MEMBER_PROJECTS = 20;
const ROWS_PER_PROJECT = 300;
const CAROL_ROWS = 40_000;
/** What the service asks for: a page of 50 and one more to know whether there is a next page. */
const PAGE = 51;

/**
 * alice (the library's user) owns 120 recordings: without a project, in a project of hers, in one of
 * bob's she belongs to, and in one of carol's she left. bob has 20 busy projects alice belongs to, all
 * older than carol's 40,000 recordings in projects alice never joined. Timestamps repeat (ties on
 * created_at), types, statuses, qualities and titles vary.
 */
async function seed(c: pg.Client): Promise<void> {
  await c.query(`INSERT INTO users (id, email, display_name)
    VALUES ('alice', 'alice@example.test', 'Alice'), ('bob', 'bob@example.test', 'Bob'),
           ('carol', 'carol@example.test', 'Carol')`);
  await c.query(`INSERT INTO projects (id, owner_id, name) OVERRIDING SYSTEM VALUE
    SELECT g, CASE WHEN g <= ${MEMBER_PROJECTS} THEN 'bob' WHEN g <= 25 THEN 'carol' ELSE 'alice' END, 'p' || g
      FROM generate_series(1, 26) g`);
  await c.query(`INSERT INTO project_members (project_id, user_id, role)
    SELECT g, 'alice', CASE WHEN g = 26 THEN 'owner' ELSE 'editor' END FROM generate_series(1, 26) g
     WHERE g <= ${MEMBER_PROJECTS} OR g = 26`);
  const row = (user: string, project: string, created: string) =>
    `SELECT ${user}, ${project}, (ARRAY['Demo', 'Standup', 'Bug 100% repro', 'demo_two'])[1 + g % 4] || ' ' || g,
            CASE WHEN g % 3 = 0 THEN 'about ' || g END,
            (ARRAY['camera', 'audio', 'screen', 'screen-camera', 'slides-camera', 'slides'])[1 + g % 6],
            1 + g % 600, (ARRAY['high', 'medium', 'low'])[1 + g % 3],
            (ARRAY['completed', 'completed', 'failed', 'processing'])[1 + g % 4], ${created}`;
  const insert = (select: string) =>
    c.query(`INSERT INTO recordings
      (user_id, project_id, title, description, recording_type, duration, quality, status, created_at) ${select}`);
  const base = `timestamptz '2026-06-01 00:00:00+00'`;
  await insert(
    `${row("'carol'", `21 + g % 4`, `${base} - (g / 2) * interval '1 minute'`)}
     FROM generate_series(1, ${CAROL_ROWS}) g`,
  );
  await insert(
    `${row("'bob'", `1 + g % ${MEMBER_PROJECTS}`, `${base} - interval '60 days' - (g / 3) * interval '1 minute'`)}
     FROM generate_series(1, ${MEMBER_PROJECTS * ROWS_PER_PROJECT}) g`,
  );
  await insert(
    `${row("'alice'", `(ARRAY[NULL, 26, 3, 22])[1 + g % 4]`, `${base} - (g * 400) * interval '1 minute'`)}
     FROM generate_series(1, 120) g`,
  );
  await c.query('VACUUM (ANALYZE) recordings');
  await c.query('ANALYZE project_members');
}

/** Every recording `f` asks for, by the plain SQL of "theirs, or in a project they belong to". */
async function expectedIds(c: pg.Client, f: ListFilter): Promise<string[]> {
  const params: unknown[] = [f.userId];
  const memberOf = 'project_id IN (SELECT project_id FROM project_members WHERE user_id = $1)';
  const where = [`(user_id = $1 OR ${memberOf})`];
  const add = (clause: (n: string) => string, value: unknown) => {
    params.push(value);
    where.push(clause(`$${params.length}`));
  };
  if (f.projectId) {
    add((n) => `project_id = ${n}`, f.projectId);
    where.push(memberOf);
  }
  if (f.recordingType) add((n) => `recording_type = ${n}`, f.recordingType);
  if (f.status) add((n) => `status = ${n}`, f.status);
  if (f.quality) add((n) => `quality = ${n}`, f.quality);
  if (f.q) add((n) => `(strpos(lower(title), lower(${n})) > 0 OR strpos(lower(description), lower(${n})) > 0)`, f.q);
  const { rows } = await c.query<{ id: string }>(
    `SELECT id FROM recordings WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC`,
    params,
  );
  return rows.map((r) => r.id);
}

interface PlanNode {
  'Relation Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

/** Rows the plan read from recordings: produced or filtered out by every scan of it, over all its loops. */
function recordingRowsRead(node: PlanNode): number {
  const self =
    node['Relation Name'] === 'recordings'
      ? (node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Index Recheck'] ?? 0)) *
        node['Actual Loops']
      : 0;
  return self + (node.Plans ?? []).reduce((sum, child) => sum + recordingRowsRead(child), 0);
}

describe.each(pgTargets().slice(0, 1))('the library query and migration 0018, on $name', (target) => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let c: pg.Client;
  let kysely: Kysely<DB>;
  let captured: CompiledQuery | undefined;
  let repo: RecordingsRepository;
  let at17: Record<string, string[]>;

  beforeAll(async () => {
    db = await freshDatabase(target);
    await migrator(db.url).up({ to: 17 });
    c = await connect(db.url);
    await seed(c);
    at17 = await catalogSnapshot(c);
    kysely = new Kysely<DB>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: db.url, max: 2 }) }),
      log: (event) => {
        captured = event.query;
      },
    });
    repo = new RecordingsRepository(kysely);
  });
  afterAll(async () => {
    await kysely?.destroy();
    await c?.end();
    await db?.drop();
  });

  const fileNode = async () =>
    (await c.query<{ n: string }>(`SELECT pg_relation_filenode('recordings')::text AS n`)).rows[0]!.n;
  const index = async () =>
    (
      await c.query(
        `SELECT indisvalid AS valid, indisready AS ready, pg_get_indexdef(indexrelid) AS def
           FROM pg_index WHERE indexrelid = to_regclass($1)`,
        [`public.${INDEX}`],
      )
    ).rows;

  it('0018 builds the index CONCURRENTLY outside a transaction, rewrites nothing; its down undoes it', async () => {
    const m = migrator(db.url);
    const [step] = await m.plan('up', { to: 18 });
    expect({ version: step!.version, transactional: step!.transactional }).toEqual({
      version: 18,
      transactional: false,
    });
    expect(step!.sql).toMatch(/CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_recordings_project_created/);
    const before = await fileNode();
    await m.up({ to: 18 });
    expect(await index()).toEqual([
      {
        valid: true,
        ready: true,
        def:
          'CREATE INDEX idx_recordings_project_created ON public.recordings ' +
          'USING btree (project_id, created_at DESC, id DESC)',
      },
    ]);
    expect(await fileNode()).toBe(before);
    const at18 = await catalogSnapshot(c);

    const down = await migrator(db.url).down({ to: 17 });
    expect(down.map((s) => [s.version, s.transactional])).toEqual([[18, false]]);
    expect(await catalogSnapshot(c)).toEqual(at17);
    expect((await c.query('SELECT count(*)::int AS n FROM recordings')).rows[0].n).toBe(
      CAROL_ROWS + MEMBER_PROJECTS * ROWS_PER_PROJECT + 120,
    );
    await migrator(db.url).up({ to: 18 });
    expect(await catalogSnapshot(c)).toEqual(at18);
  });

  it('a page reads at most a page per source, however many older or newer recordings there are', async () => {
    await migrator(db.url).up();
    // A page from each of her 21 projects (bob's 20 and her own) and from her own recordings, the page's
    // rows by id, and the one row past a page an incremental sort reads to close its last group.
    const bound = (MEMBER_PROJECTS + 1 + 2) * PAGE + 1;
    let cursor: ListFilter['cursor'];
    for (const page of [1, 2, 30]) {
      for (let p = 1; p < page; p++) {
        const rows = await repo.list({ userId: 'alice', limit: PAGE, cursor });
        cursor = { createdAt: rows.at(-2)!.cursor_ts, id: rows.at(-2)!.id };
      }
      const rows = await repo.list({ userId: 'alice', limit: PAGE, cursor });
      expect(rows).toHaveLength(PAGE);
      const { sql, parameters } = captured!;
      const { rows: plan } = await c.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, [...parameters]);
      const read = recordingRowsRead(plan[0]['QUERY PLAN'][0].Plan);
      expect(read, `page ${page}: rows read from recordings`).toBeLessThanOrEqual(bound);
      cursor = undefined;
    }
  });

  const filters: Omit<ListFilter, 'userId' | 'limit' | 'cursor'>[] = [
    {},
    { recordingType: 'screen' },
    { status: 'failed' },
    { quality: 'high', recordingType: 'screen-camera' },
    { q: '100%' },
    { q: 'DEMO_' },
    { projectId: '3' },
    { projectId: '26', status: 'completed' },
    { projectId: '22' },
  ];
  it.each(filters)('every page of a keyset walk is what the plain SQL says: %o', async (filter) => {
    await migrator(db.url).up();
    const f: ListFilter = { userId: 'alice', limit: 397, ...filter };
    const want = await expectedIds(c, f);
    const got: string[] = [];
    let cursor: ListFilter['cursor'];
    for (;;) {
      const rows = await repo.list({ ...f, cursor });
      got.push(...rows.map((r) => r.id));
      if (rows.length < f.limit) break;
      cursor = { createdAt: rows.at(-1)!.cursor_ts, id: rows.at(-1)!.id };
    }
    expect(got).toEqual(want);
    if (!filter.projectId || filter.projectId === '3') expect(want.length).toBeGreaterThan(0);
  });
});
