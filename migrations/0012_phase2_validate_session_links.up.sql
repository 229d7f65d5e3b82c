-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- Why: the engine sets lock_timeout for every file (MIGRATION_LOCK_TIMEOUT) and retries on timeout; a
-- statement_timeout would cut legitimate long work such as index builds.
-- Scans recording_sessions without blocking writes (SHARE UPDATE EXCLUSIVE).
ALTER TABLE recording_sessions VALIDATE CONSTRAINT fk_sessions_project;
ALTER TABLE recording_sessions VALIDATE CONSTRAINT fk_sessions_recording;
ALTER TABLE recording_sessions VALIDATE CONSTRAINT chk_session_discarded_or_kept;
