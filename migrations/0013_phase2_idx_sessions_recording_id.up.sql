-- migrate:no-transaction
-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- Why: the engine sets lock_timeout for every file (MIGRATION_LOCK_TIMEOUT) and retries on timeout; a
-- statement_timeout would cut legitimate long work such as index builds.
-- One recording per take: a second finish of the same take can never link a second recording. Also
-- serves fk_sessions_recording (a deleted recording clears the link without scanning the table).
-- recording_sessions may hold rows, so the index is built CONCURRENTLY, alone in its file.
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS idx_sessions_recording_id ON recording_sessions (recording_id);
