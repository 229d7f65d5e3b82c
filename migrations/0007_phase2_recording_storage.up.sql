-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- Why: the engine sets lock_timeout for every file (MIGRATION_LOCK_TIMEOUT) and retries on timeout; a
-- statement_timeout would cut legitimate long work such as index builds.
-- Spec Phase 2 step 1: storage metadata columns on recordings, which may hold rows by now.
-- Nullable columns and a NOT NULL column with a constant default are catalog-only changes (no
-- rewrite, PostgreSQL 11+). The new check is added NOT VALID (no scan under the lock) and validated
-- in the next migration, which takes only a SHARE UPDATE EXCLUSIVE lock.
ALTER TABLE recordings
  ADD COLUMN storage_provider text NOT NULL DEFAULT 'local',
  ADD COLUMN storage_key text,
  ADD COLUMN storage_region text,
  ADD COLUMN storage_bucket text,
  ADD COLUMN cdn_url text;

ALTER TABLE recordings ADD CONSTRAINT chk_storage_provider CHECK (storage_provider IN ('local', 's3')) NOT VALID;
