-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- Why: the engine sets lock_timeout for every file (MIGRATION_LOCK_TIMEOUT) and retries on timeout; a
-- statement_timeout would cut legitimate long work such as index builds.
-- Validation has no inverse in SQL: re-create the constraint NOT VALID, exactly as 0007 left it.
-- Adding a NOT VALID check does not scan the table.
ALTER TABLE recordings DROP CONSTRAINT chk_storage_provider;
ALTER TABLE recordings ADD CONSTRAINT chk_storage_provider CHECK (storage_provider IN ('local', 's3')) NOT VALID;
