/**
 * A backfill a migration declares: `NNNN_phaseN_<what>.backfill.sql` beside its up and down files. Plain
 * SQL, frozen like them, never importing app code. Its header says how to run it; it holds exactly two
 * statements:
 *
 *   -- backfill:batch-size 1000     keys per batch (each batch is one short transaction)
 *   -- backfill:pause-ms 100        pause between batches, so writers always get their turn
 *   -- backfill:lock-timeout 1s     a batch that would wait longer for a lock gives up and is retried
 *   1. the count: one row `total` (rows that need work) and `end_key` (the last key among them; the
 *      scan stops there, NULL when there is nothing to do);
 *   2. the batch, over the keys after $1 (the cursor, a bigint), at most $2 of them (the batch size),
 *      returning one row: `last_key` (the highest key it looked at; NULL: none left), `filled` (rows
 *      changed), `rejected` (jsonb array of {key, reason}: rows it will not fill, never guessed) and
 *      `locked` (bigint[]: keys it needed but another transaction held; retried after the scan).
 *   A batch must be idempotent: run twice over the same keys, the second run changes nothing.
 */
import { createHash } from 'node:crypto';
import { splitStatements } from '../migrator/sql.js';

export interface BackfillDeclaration {
  /** The migration's file stem, e.g. 0021_phase2_backfill_storage_columns. */
  name: string;
  version: number;
  file: string;
  checksum: string;
  batchSize: number;
  pauseMs: number;
  /** PostgreSQL interval text for SET LOCAL lock_timeout. */
  lockTimeout: string;
  countSql: string;
  batchSql: string;
}

/** Backfills keep their place in schema_backfills, which migration 0021 creates. */
export const FIRST_BACKFILL_VERSION = 21;

const DEFAULTS = { batchSize: 1000, pauseMs: 100, lockTimeout: '1s' };
const DIRECTIVE = /^-- backfill:([a-z-]+)\s+(\S+)\s*$/;

export class BackfillFileError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'BackfillFileError';
  }
}

function directives(file: string, sql: string) {
  const out = { ...DEFAULTS };
  for (const line of sql.split('\n').map((l) => l.trim())) {
    const m = DIRECTIVE.exec(line);
    if (!m) continue;
    const [, name, value] = m as unknown as [string, string, string];
    if (name === 'batch-size' || name === 'pause-ms') {
      if (!/^\d+$/.test(value) || (name === 'batch-size' && Number(value) < 1))
        throw new BackfillFileError(
          file,
          `backfill:${name} must be a whole number${name === 'batch-size' ? ' ≥ 1' : ''}`,
        );
      if (name === 'batch-size') out.batchSize = Number(value);
      else out.pauseMs = Number(value);
    } else if (name === 'lock-timeout') {
      if (!/^\d+(ms|s)$/.test(value))
        throw new BackfillFileError(file, 'backfill:lock-timeout must look like 500ms or 2s');
      out.lockTimeout = value;
    } else throw new BackfillFileError(file, `unknown directive backfill:${name}`);
  }
  return out;
}

/** Parses and checks a .backfill.sql; name is the migration's file stem. */
export function parseBackfill(file: string, version: number, name: string, sql: string): BackfillDeclaration {
  if (version < FIRST_BACKFILL_VERSION)
    throw new BackfillFileError(file, `backfills need migration ${FIRST_BACKFILL_VERSION} (schema_backfills) first`);
  const statements = splitStatements(sql);
  if (statements.length !== 2)
    throw new BackfillFileError(
      file,
      `must hold exactly two statements (the count, then the batch), found ${statements.length}`,
    );
  const [countSql, batchSql] = statements as [string, string];
  if (/\$\d/.test(countSql)) throw new BackfillFileError(file, 'the count (first statement) takes no parameters');
  if (!batchSql.includes('$1') || !batchSql.includes('$2') || /\$[3-9]/.test(batchSql))
    throw new BackfillFileError(
      file,
      'the batch (second statement) takes exactly $1 (the cursor) and $2 (the batch size)',
    );
  return {
    name,
    version,
    file,
    checksum: createHash('sha256').update(sql).digest('hex'),
    ...directives(file, sql),
    countSql,
    batchSql,
  };
}
