-- migrate:no-transaction
-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- Why: the engine sets lock_timeout for every file (MIGRATION_LOCK_TIMEOUT) and retries on timeout; a
-- statement_timeout would cut legitimate long work such as index builds.
-- Serves fk_recordings_current_version: a deleted version (or a recording's cascade to its versions)
-- clears the link without scanning recordings. Partial: most recordings play their original.
-- recordings holds rows, so the index is built CONCURRENTLY, alone in its file.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_recordings_current_version ON recordings (current_version_id)
  WHERE current_version_id IS NOT NULL;
