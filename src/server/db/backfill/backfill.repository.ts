/**
 * All SQL of the backfill runner: its bookkeeping in schema_backfills (migration 0021) and the two
 * statements a declaration holds (run with their parameters, never spliced). One instance per client:
 * a batch is one transaction on that client.
 */
import type pg from 'pg';

/** The bookkeeping table: engine state like schema_migrations, not user data (see migrator/backup.ts). */
export const BACKFILL_TABLE = 'schema_backfills';

export interface RejectedRow {
  key: string;
  reason: string;
}

export interface BackfillRow {
  name: string;
  checksum: string;
  state: 'running' | 'finished';
  /** bigint keys stay strings (they may pass 2^53). */
  cursor: string | null;
  endKey: string | null;
  deferredKeys: string[];
  rowsTotal: number;
  rowsFilled: number;
  rowsRejected: number;
  rejectedSample: RejectedRow[];
  batches: number;
  rate: number | null;
  failures: number;
  lastError: string | null;
  startedAt: Date;
  lastBatchAt: Date | null;
  finishedAt: Date | null;
}

export interface BatchResult {
  lastKey: string | null;
  filled: number;
  rejected: RejectedRow[];
  locked: string[];
}

const COLUMNS = `name, checksum, state, cursor::text AS cursor, end_key::text AS end_key,
  deferred_keys::text[] AS deferred_keys, rows_total::float8 AS rows_total, rows_filled::float8 AS rows_filled,
  rows_rejected::float8 AS rows_rejected, rejected_sample, batches::float8 AS batches, rate,
  failures::float8 AS failures, last_error, started_at, last_batch_at, finished_at`;

type RawRow = Record<string, unknown>;

function toRow(r: RawRow): BackfillRow {
  return {
    name: r.name as string,
    checksum: r.checksum as string,
    state: r.state as BackfillRow['state'],
    cursor: r.cursor as string | null,
    endKey: r.end_key as string | null,
    deferredKeys: r.deferred_keys as string[],
    rowsTotal: r.rows_total as number,
    rowsFilled: r.rows_filled as number,
    rowsRejected: r.rows_rejected as number,
    rejectedSample: r.rejected_sample as RejectedRow[],
    batches: r.batches as number,
    rate: r.rate as number | null,
    failures: r.failures as number,
    lastError: r.last_error as string | null,
    startedAt: r.started_at as Date,
    lastBatchAt: r.last_batch_at as Date | null,
    finishedAt: r.finished_at as Date | null,
  };
}

export interface BatchUpdate {
  cursor: string | null;
  deferredKeys: string[];
  filled: number;
  rejected: number;
  rejectedSample: RejectedRow[];
  rate: number | null;
  finished: boolean;
}

export class BackfillRepository {
  constructor(private readonly client: pg.ClientBase) {}

  /** Whether migration 0021 is applied (the bookkeeping exists). */
  async hasTable(): Promise<boolean> {
    const { rows } = await this.client.query<{ t: string | null }>(`SELECT to_regclass($1)::text AS t`, [
      BACKFILL_TABLE,
    ]);
    return Boolean(rows[0]?.t);
  }

  async appliedVersions(): Promise<Set<number>> {
    const { rows } = await this.client.query<{ t: string | null }>(
      `SELECT to_regclass('schema_migrations')::text AS t`,
    );
    if (!rows[0]?.t) return new Set();
    const applied = await this.client.query<{ version: number }>('SELECT version FROM schema_migrations');
    return new Set(applied.rows.map((r) => r.version));
  }

  async all(): Promise<BackfillRow[]> {
    const { rows } = await this.client.query<RawRow>(`SELECT ${COLUMNS} FROM schema_backfills ORDER BY name`);
    return rows.map(toRow);
  }

  async get(name: string): Promise<BackfillRow | undefined> {
    const { rows } = await this.client.query<RawRow>(`SELECT ${COLUMNS} FROM schema_backfills WHERE name = $1`, [name]);
    return rows[0] ? toRow(rows[0]) : undefined;
  }

  /** The row of a running backfill, locked for this batch; undefined when another runner holds it. */
  async lockRunning(name: string): Promise<BackfillRow | undefined> {
    const { rows } = await this.client.query<RawRow>(
      `SELECT ${COLUMNS} FROM schema_backfills WHERE name = $1 AND state = 'running' FOR UPDATE SKIP LOCKED`,
      [name],
    );
    return rows[0] ? toRow(rows[0]) : undefined;
  }

  /** The declaration's count: rows needing work and the last key among them. */
  async count(countSql: string): Promise<{ total: number; endKey: string | null }> {
    const { rows } = await this.client.query<{ total: string | number; end_key: string | number | null }>(countSql);
    const row = rows[0];
    return { total: Number(row?.total ?? 0), endKey: row?.end_key == null ? null : String(row.end_key) };
  }

  /** Starts the bookkeeping of a backfill (once: a second runner's insert does nothing). */
  async start(name: string, checksum: string, total: number, endKey: string | null): Promise<void> {
    const done = endKey === null;
    await this.client.query(
      `INSERT INTO schema_backfills (name, checksum, rows_total, end_key, state, finished_at)
       VALUES ($1, $2, $3, $4::bigint, $5, CASE WHEN $6 THEN now() END)
       ON CONFLICT (name) DO NOTHING`,
      [name, checksum, total, endKey, done ? 'finished' : 'running', done],
    );
  }

  async batch(batchSql: string, cursor: string, limit: number): Promise<BatchResult> {
    const { rows } = await this.client.query<{
      last_key: string | number | null;
      filled: string | number;
      rejected: { key: string | number; reason: string }[] | null;
      locked: (string | number)[] | null;
    }>(batchSql, [cursor, limit]);
    const r = rows[0];
    return {
      lastKey: r?.last_key == null ? null : String(r.last_key),
      filled: Number(r?.filled ?? 0),
      rejected: (r?.rejected ?? []).map((x) => ({ key: String(x.key), reason: x.reason })),
      locked: (r?.locked ?? []).map(String),
    };
  }

  async saveBatch(name: string, u: BatchUpdate): Promise<void> {
    await this.client.query(
      `UPDATE schema_backfills
          SET cursor = $2::bigint, deferred_keys = $3::bigint[], rows_filled = rows_filled + $4,
              rows_rejected = rows_rejected + $5, rejected_sample = $6::jsonb, rate = $7, batches = batches + 1,
              last_error = NULL, last_batch_at = now(),
              state = CASE WHEN $8 THEN 'finished' ELSE 'running' END, finished_at = CASE WHEN $8 THEN now() END
        WHERE name = $1`,
      [name, u.cursor, u.deferredKeys, u.filled, u.rejected, JSON.stringify(u.rejectedSample), u.rate, u.finished],
    );
  }

  /** A batch failed (rolled back): say why on the row, for `migrate backfills`. */
  async recordFailure(name: string, message: string): Promise<void> {
    await this.client.query(`UPDATE schema_backfills SET failures = failures + 1, last_error = $2 WHERE name = $1`, [
      name,
      message.slice(0, 500),
    ]);
  }

  /** A deferred key whose row is gone: nothing left to do for it. */
  async dropDeferred(name: string, key: string): Promise<void> {
    await this.client.query(
      `UPDATE schema_backfills SET deferred_keys = array_remove(deferred_keys, $2::bigint) WHERE name = $1`,
      [name, key],
    );
  }

  async setLocal(lockTimeout: string, statementTimeout: string): Promise<void> {
    await this.client.query(`SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true)`, [
      lockTimeout,
      statementTimeout,
    ]);
  }

  async begin(): Promise<void> {
    await this.client.query('BEGIN');
  }

  async commit(): Promise<void> {
    await this.client.query('COMMIT');
  }

  async rollback(): Promise<void> {
    await this.client.query('ROLLBACK');
  }
}
