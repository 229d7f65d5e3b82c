-- migrate:no-transaction
-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- Why: the engine sets lock_timeout for every file (MIGRATION_LOCK_TIMEOUT) and retries on timeout; a
-- statement_timeout would cut legitimate long work such as index builds.
-- The dashboard's top errors over everyone's sessions: only sessions with an error_message (interrupted
-- ones), by start. The message itself stays in the heap: a reason may be 1000 characters of up to 4 bytes,
-- more than a btree entry holds. recording_sessions may hold rows, so the index is built CONCURRENTLY, alone.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_sessions_errors_started ON recording_sessions (started_at)
  WHERE error_message IS NOT NULL;
