-- migrate:no-transaction
-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- Why: the engine sets lock_timeout for every file (MIGRATION_LOCK_TIMEOUT) and retries on timeout; a
-- statement_timeout would cut legitimate long work such as index builds.
-- One object, one recording: the sweeper and the deletion job look recordings up by key.
-- recordings may hold rows, so the index is built CONCURRENTLY, alone in its file.
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS idx_recordings_storage_key ON recordings (storage_key);
