-- migrate:no-transaction
-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- Why: the engine sets lock_timeout for every file (MIGRATION_LOCK_TIMEOUT) and retries on timeout; a
-- statement_timeout would cut legitimate long work such as index builds.
-- One place per edit in its recording's stack, and the stack read in order (the fold, undo's "last
-- active", redo's "first undone"). Replaces idx_edits_recording_id for lookups by recording and serves
-- the cascade from recordings. recording_edits may hold rows, so the index is built CONCURRENTLY, alone.
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS idx_edits_recording_position ON recording_edits (recording_id, position);
