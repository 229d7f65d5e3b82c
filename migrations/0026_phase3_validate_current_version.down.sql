-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- Why: the engine sets lock_timeout for every file (MIGRATION_LOCK_TIMEOUT) and retries on timeout; a
-- statement_timeout would cut legitimate long work such as index builds.
-- Validation has no inverse in SQL: re-create the constraint NOT VALID, exactly as 0024 left it.
ALTER TABLE recordings DROP CONSTRAINT fk_recordings_current_version;
ALTER TABLE recordings
  ADD CONSTRAINT fk_recordings_current_version FOREIGN KEY (current_version_id)
  REFERENCES recording_versions (id) ON DELETE SET NULL NOT VALID;
