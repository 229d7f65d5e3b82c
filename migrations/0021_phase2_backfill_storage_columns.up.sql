-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- Why: the engine sets lock_timeout for every file (MIGRATION_LOCK_TIMEOUT) and retries on timeout; a
-- statement_timeout would cut legitimate long work such as index builds.
-- Spec Phase 2 step 3, "update existing records": where each backfill a migration declares stands (its
-- NNNN_*.backfill.sql, run in batches by src/server/db/backfill/ after `migrate up` has returned). This
-- file adds the bookkeeping only; the backfill it declares (0021_*.backfill.sql) fills the storage
-- columns of rows from before Phase 2. A new, empty table: its constraints are created with it.
-- name: the migration's file stem. checksum: of the .backfill.sql that ran (frozen, like an up file).
-- cursor: the last key the scan finished (NULL: not started); end_key: the last key that needed work
-- when it started (the scan stops there); deferred_keys: keys found locked by another transaction,
-- retried after the scan. rows_*: counted when it started / filled / refused (rejected_sample says
-- which and why, the first 100). rate: rows per second, a moving average; ETA = what is left / rate.
CREATE TABLE schema_backfills (
  name text PRIMARY KEY,
  checksum text NOT NULL,
  state text NOT NULL DEFAULT 'running',
  cursor bigint,
  end_key bigint,
  deferred_keys bigint[] NOT NULL DEFAULT '{}',
  rows_total bigint NOT NULL DEFAULT 0,
  rows_filled bigint NOT NULL DEFAULT 0,
  rows_rejected bigint NOT NULL DEFAULT 0,
  rejected_sample jsonb NOT NULL DEFAULT '[]',
  batches bigint NOT NULL DEFAULT 0,
  rate double precision,
  failures bigint NOT NULL DEFAULT 0,
  last_error text,
  started_at timestamptz NOT NULL DEFAULT now(),
  last_batch_at timestamptz,
  finished_at timestamptz,
  CONSTRAINT chk_backfill_state CHECK (state IN ('running', 'finished')),
  CONSTRAINT chk_backfill_counts CHECK (
    rows_total >= 0 AND rows_filled >= 0 AND rows_rejected >= 0 AND batches >= 0 AND failures >= 0
  ),
  CONSTRAINT chk_backfill_finished CHECK ((state = 'finished') = (finished_at IS NOT NULL))
);
