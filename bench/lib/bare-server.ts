/**
 * The API benchmark's baseline: a bare Fastify with one route, GET /api/recordings, that runs exactly
 * the SQL our RecordingsRepository.list sends for one fixed user (captured from it at start-up through
 * Kysely's query log) on a pg pool of the same size as ours, and returns the rows as JSON. What it
 * leaves out is what the benchmark measures: authentication (API token lookup), the service layer
 * (limit+1, cursor encoding, per-project roles, toApi), the response schema, request logging.
 *
 * GET /api/own-recordings is the floor (issue 9): only the own-recordings keyset query, the cheapest
 * question the library can ask (one index range, no projects), with the same JSON out.
 *
 * Run (a child process of bench/api.bench.ts): node --import tsx bench/lib/bare-server.ts
 * Env: DATABASE_URL, PORT, HOST, BENCH_USER_ID, BENCH_TOKEN (the user's API token, for the three-query route).
 */
import Fastify from 'fastify';
import { Kysely, PostgresDialect, type CompiledQuery } from 'kysely';
import pg from 'pg';
import type { DB } from '../../src/server/db/schema.js';
import { AuthRepository } from '../../src/server/auth/auth.repository.js';
import { tokenHash } from '../../src/server/auth/secrets.js';
import { RecordingsRepository } from '../../src/server/recordings/recordings.repository.js';
import { decodeCursor } from '../../src/server/recordings/recordings.service.js';

const userId = process.env.BENCH_USER_ID!;
const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: 10,
  application_name: 'recorder-bench-bare',
});

// Sentinels: the captured parameters are the repository's own; these mark the ones a request fills in.
const S_USER = '__bench_user__';
const S_TS = '2000-01-01 00:00:00.123456+00';
const S_ID = '987654321987';
const S_LIMIT = 51; // the service asks for limit + 1 to know whether there is a next page

async function capture(cursor: boolean): Promise<{ sql: string; parameters: readonly unknown[] }> {
  let q: CompiledQuery | undefined;
  const db = new Kysely<DB>({
    dialect: new PostgresDialect({ pool }),
    log: (e) => {
      q ??= e.query;
    },
  });
  await new RecordingsRepository(db).list({
    userId: S_USER,
    limit: S_LIMIT,
    ...(cursor ? { cursor: { createdAt: S_TS, id: S_ID } } : {}),
  });
  if (!q) throw new Error('no query captured');
  return { sql: q.sql, parameters: q.parameters };
}

const first = await capture(false);
const next = await capture(true);

const app = Fastify({ logger: false });
app.get('/ready', async () => ({ ok: true }));
app.get('/api/recordings', async (req) => {
  const raw = (req.query as { cursor?: string }).cursor;
  const c = raw ? decodeCursor(raw) : undefined;
  const q = c ? next : first;
  const params = q.parameters.map((p) => (p === S_USER ? userId : p === S_TS ? c!.createdAt : p === S_ID ? c!.id : p));
  const { rows } = await pool.query(q.sql, params);
  return { items: rows.slice(0, 50) };
});
/** The own-recordings half alone: one walk of idx_recordings_user_created. */
const OWN_COLUMNS = 'SELECT *, created_at::text AS cursor_ts FROM recordings WHERE user_id = $1';
const OWN_ORDER = 'ORDER BY created_at DESC, id DESC LIMIT 51';
const OWN_FIRST = `${OWN_COLUMNS} ${OWN_ORDER}`;
const OWN_NEXT = `${OWN_COLUMNS} AND (created_at, id) < ($2::timestamptz, $3) ${OWN_ORDER}`;
app.get('/api/own-recordings', async (req) => {
  const raw = (req.query as { cursor?: string }).cursor;
  const c = raw ? decodeCursor(raw) : undefined;
  const { rows } = c ? await pool.query(OWN_NEXT, [userId, c.createdAt, c.id]) : await pool.query(OWN_FIRST, [userId]);
  return { items: rows.slice(0, 50) };
});
/**
 * The three queries ours sends for one page, through the same repositories (Kysely compiling each):
 * the API token's user, the page, the user's roles in the page's projects. Beside /api/recordings, what
 * the extra round trips cost; beside ours, what the rest of our layers cost (hooks, validation, service,
 * response schema, logging).
 */
const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
const auth = new AuthRepository(db);
const recordings = new RecordingsRepository(db);
const hash = tokenHash(process.env.BENCH_TOKEN ?? '');
app.get('/api/recordings-queries', async (req) => {
  const raw = (req.query as { cursor?: string }).cursor;
  const user = await auth.tokenUser(hash, new Date());
  if (!user) throw new Error('BENCH_TOKEN is not a live API token');
  const rows = await recordings.list({ userId: user.id, limit: 51, cursor: raw ? decodeCursor(raw) : undefined });
  const page = rows.slice(0, 50);
  await recordings.rolesIn([...new Set(page.flatMap((r) => (r.project_id ? [r.project_id] : [])))], user.id);
  return { items: page };
});
app.get('/sql', async () => ({ first, next, ownFirst: OWN_FIRST, ownNext: OWN_NEXT }));
await app.listen({ port: Number(process.env.PORT), host: process.env.HOST ?? '127.0.0.1' });

const shutdown = () => {
  void app
    .close()
    .then(() => pool.end())
    .finally(() => process.exit(0));
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
