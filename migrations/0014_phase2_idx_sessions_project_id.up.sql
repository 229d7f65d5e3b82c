-- migrate:no-transaction
-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- Why: the engine sets lock_timeout for every file (MIGRATION_LOCK_TIMEOUT) and retries on timeout; a
-- statement_timeout would cut legitimate long work such as index builds.
-- Serves fk_sessions_project: deleting a project clears its sessions' link without a table scan.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_sessions_project_id ON recording_sessions (project_id);
