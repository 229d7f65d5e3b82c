-- migrate:no-transaction
-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- Why: the engine sets lock_timeout for every file (MIGRATION_LOCK_TIMEOUT) and retries on timeout; a
-- statement_timeout would cut legitimate long work such as index builds.
-- The library's shared-projects half: "the newest recordings of project P, before this cursor". With
-- (project_id, created_at DESC, id DESC) each project is one index range already in page order, so the
-- query walks 50 rows per project instead of reading every recording of every project and sorting
-- (bench/results/library.json: EXPLAIN ANALYZE before and after). recordings holds rows: CONCURRENTLY.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_recordings_project_created
  ON recordings (project_id, created_at DESC, id DESC);
