-- migrate:no-transaction
-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- Why: the engine sets lock_timeout for every file (MIGRATION_LOCK_TIMEOUT) and retries on timeout; a
-- statement_timeout would cut legitimate long work such as index builds.
-- fk_edits_created_by (0023) is ON DELETE SET NULL: without this index every account deletion would scan
-- recording_edits. recording_edits may hold rows, so the index is built CONCURRENTLY, alone in its file.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_edits_created_by ON recording_edits (created_by);
