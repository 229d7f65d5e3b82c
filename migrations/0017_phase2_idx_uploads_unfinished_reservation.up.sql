-- migrate:no-transaction
-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- Why: the engine sets lock_timeout for every file (MIGRATION_LOCK_TIMEOUT) and retries on timeout; a
-- statement_timeout would cut legitimate long work such as index builds.
-- The storage sweep asks, for each batch of objects it lists, which recording ids unfinished uploads have
-- reserved (an object assembled just before a crash is theirs until recovery writes its row). Only
-- `uploading` rows matter, a small part of a table that keeps every upload ever made: a partial index.
-- uploads may hold rows, so the index is built CONCURRENTLY, alone in its file.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_uploads_unfinished_reservation ON uploads (reserved_recording_id)
  WHERE status = 'uploading';
