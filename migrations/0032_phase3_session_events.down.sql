-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- Why: the engine sets lock_timeout for every file (MIGRATION_LOCK_TIMEOUT) and retries on timeout; a
-- statement_timeout would cut legitimate long work such as index builds.
-- squawk-ignore-file ban-drop-table
-- Why: rollback of this migration's own table; the engine refuses it while events are recorded unless
-- forced, and then backs them up first (docs/migrations.md).
DROP TABLE recording_session_events;
