-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- Why: the engine sets lock_timeout for every file (MIGRATION_LOCK_TIMEOUT) and retries on timeout; a
-- statement_timeout would cut legitimate long work such as index builds.
-- Validation has no inverse in SQL: re-create the constraints NOT VALID, exactly as 0011 left them.
-- Adding NOT VALID constraints does not scan the table.
ALTER TABLE recording_sessions DROP CONSTRAINT fk_sessions_project;
ALTER TABLE recording_sessions DROP CONSTRAINT fk_sessions_recording;
ALTER TABLE recording_sessions DROP CONSTRAINT chk_session_discarded_or_kept;
ALTER TABLE recording_sessions
  ADD CONSTRAINT fk_sessions_project FOREIGN KEY (project_id) REFERENCES projects (id) ON DELETE SET NULL NOT VALID;
ALTER TABLE recording_sessions
  ADD CONSTRAINT fk_sessions_recording FOREIGN KEY (recording_id) REFERENCES recordings (id) ON DELETE SET NULL NOT VALID;
ALTER TABLE recording_sessions
  ADD CONSTRAINT chk_session_discarded_or_kept CHECK (discarded_at IS NULL OR recording_id IS NULL) NOT VALID;
