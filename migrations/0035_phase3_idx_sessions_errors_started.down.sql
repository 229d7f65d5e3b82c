-- migrate:no-transaction
-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- Why: the engine sets lock_timeout for every file (MIGRATION_LOCK_TIMEOUT) and retries on timeout; a
-- statement_timeout would cut legitimate long work such as index builds.
DROP INDEX CONCURRENTLY IF EXISTS idx_sessions_errors_started;
