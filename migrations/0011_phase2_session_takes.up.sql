-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- Why: the engine sets lock_timeout for every file (MIGRATION_LOCK_TIMEOUT) and retries on timeout; a
-- statement_timeout would cut legitimate long work such as index builds.
-- A take (recording_sessions row) learns what the web app needs to never lose it (issue 4):
--  project_id        the project chosen for it (set when recording starts or when it is kept)
--  last_heartbeat_at the last sign of life from the recording tab; the stale-session sweep marks an
--                    active session without one for SESSION_STALE_SECONDS interrupted
--  recording_id      the recording the take became; unique (migration 0013): one recording per take,
--                    however often its final upload is re-sent
--  discarded_at      the user threw the take away: it is never offered for recovery again
--  take              the details given when keeping it (title, description, projectId, durationMs,
--                    metadata); the upload's finish uses them over the tus metadata
-- recording_sessions may hold rows: nullable columns without defaults are catalog-only changes. The
-- foreign keys and the check are added NOT VALID (no scan under the lock) and validated in 0012.
ALTER TABLE recording_sessions
  ADD COLUMN project_id bigint,
  ADD COLUMN last_heartbeat_at timestamptz,
  ADD COLUMN recording_id bigint,
  ADD COLUMN discarded_at timestamptz,
  ADD COLUMN take jsonb;

-- A take outlives the project or recording it was linked to (history, debugging): the link is cleared.
ALTER TABLE recording_sessions
  ADD CONSTRAINT fk_sessions_project FOREIGN KEY (project_id) REFERENCES projects (id) ON DELETE SET NULL NOT VALID;
ALTER TABLE recording_sessions
  ADD CONSTRAINT fk_sessions_recording FOREIGN KEY (recording_id) REFERENCES recordings (id) ON DELETE SET NULL NOT VALID;
-- A discarded take never became a recording, and one that became a recording cannot be discarded.
ALTER TABLE recording_sessions
  ADD CONSTRAINT chk_session_discarded_or_kept CHECK (discarded_at IS NULL OR recording_id IS NULL) NOT VALID;
