-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- Why: the engine sets lock_timeout for every file (MIGRATION_LOCK_TIMEOUT) and retries on timeout; a
-- statement_timeout would cut legitimate long work such as index builds.
-- What the analytics group sessions by (issue 14): the browser, operating system and kind of device
-- (desktop, mobile, tablet, tv) of a take, parsed by the server from device_info.userAgent with bowser when
-- the session is created (src/server/sessions/device.ts), and the quality chosen (settings.quality). Plain
-- columns, not expressions over the jsonb: the analytics index (0034) holds them, so everyone's dashboard is
-- read from the index alone. Rows from before are filled by 0033_phase3_session_device.backfill.sql
-- (docs/schema.md).
-- recording_sessions may hold rows: nullable columns without defaults are catalog-only changes.
ALTER TABLE recording_sessions
  ADD COLUMN browser text,
  ADD COLUMN os text,
  ADD COLUMN device_kind text,
  ADD COLUMN quality text;
