-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- Why: the engine sets lock_timeout for every file (MIGRATION_LOCK_TIMEOUT) and retries on timeout; a
-- statement_timeout would cut legitimate long work such as index builds.
-- Rows written before 0023 (none in any deployment; written as if there were) join their recording's
-- stack in the order they were applied, as active edits. Then 0023's constraints are validated: a scan
-- that does not block writes (SHARE UPDATE EXCLUSIVE). Numbered migrations of the VERSIONS work
-- (0024..0029) come between: this one only needs 0023.
UPDATE recording_edits e
   SET position = n.position
  FROM (
    SELECT id, row_number() OVER (PARTITION BY recording_id ORDER BY applied_at, id) AS position
      FROM recording_edits
  ) n
 WHERE e.id = n.id AND e.position IS NULL;
ALTER TABLE recording_edits VALIDATE CONSTRAINT fk_edits_created_by;
ALTER TABLE recording_edits VALIDATE CONSTRAINT chk_edit_position;
ALTER TABLE recording_edits VALIDATE CONSTRAINT chk_edit_dropped_undone;
ALTER TABLE recordings VALIDATE CONSTRAINT chk_recording_edit_revision;
