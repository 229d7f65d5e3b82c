-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- Why: the engine sets lock_timeout for every file (MIGRATION_LOCK_TIMEOUT) and retries on timeout; a
-- statement_timeout would cut legitimate long work such as index builds.
-- squawk-ignore-file ban-drop-table
-- Why: rollback of the table's creation; guarded by the engine's data-loss check and backup.
DROP TABLE recording_sessions;
