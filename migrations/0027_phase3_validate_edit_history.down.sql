-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- Why: the engine sets lock_timeout for every file (MIGRATION_LOCK_TIMEOUT) and retries on timeout; a
-- statement_timeout would cut legitimate long work such as index builds.
-- Validation has no inverse in SQL: re-create the constraints NOT VALID, exactly as 0023 left them.
-- Adding NOT VALID constraints does not scan the table. The positions given to old rows stay: 0023's
-- down drops the column.
ALTER TABLE recording_edits DROP CONSTRAINT fk_edits_created_by;
ALTER TABLE recording_edits DROP CONSTRAINT chk_edit_position;
ALTER TABLE recording_edits DROP CONSTRAINT chk_edit_dropped_undone;
ALTER TABLE recordings DROP CONSTRAINT chk_recording_edit_revision;
ALTER TABLE recording_edits
  ADD CONSTRAINT fk_edits_created_by FOREIGN KEY (created_by) REFERENCES users (id) ON DELETE SET NULL NOT VALID;
ALTER TABLE recording_edits ADD CONSTRAINT chk_edit_position CHECK (position IS NOT NULL AND position >= 1) NOT VALID;
ALTER TABLE recording_edits
  ADD CONSTRAINT chk_edit_dropped_undone CHECK (dropped_at IS NULL OR undone_at IS NOT NULL) NOT VALID;
ALTER TABLE recordings ADD CONSTRAINT chk_recording_edit_revision CHECK (edit_revision >= 0) NOT VALID;
