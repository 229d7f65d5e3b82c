-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- Why: the engine sets lock_timeout for every file (MIGRATION_LOCK_TIMEOUT) and retries on timeout; a
-- statement_timeout would cut legitimate long work such as index builds.
-- squawk-ignore-file prefer-bigint-over-int
-- Why: failures restart every minute and stop at the limit (at most 100,000); a lockout lasts at least a
-- minute, so lockouts would need 4,000 years of them to reach 2^31. integer reads as a JS number.
-- Failed sign-ins, counted where every server process sees them: one row per account and one per client
-- address (src/server/auth/sign-in-limits.ts). The key is "account:" or "address:" and the sha256 of the
-- lower-cased email or of the address (its /64 for IPv6), so the table lists neither emails nor
-- addresses. failures count within the minute that began at window_started_at; locked_until is when the
-- current lock ends; lockouts is how many locks in a row (each lasts twice as long, capped). A new, empty
-- table: its constraints and index are created with it.
CREATE TABLE sign_in_limits (
  key text PRIMARY KEY,
  failures integer NOT NULL DEFAULT 0,
  window_started_at timestamptz NOT NULL,
  locked_until timestamptz,
  lockouts integer NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT chk_sign_in_limit_key CHECK (key ~ '^(account|address):[0-9a-f]{64}$'),
  CONSTRAINT chk_sign_in_limit_counts CHECK (failures >= 0 AND lockouts >= 0)
);
-- Housekeeping deletes the rows nobody has failed on for a day.
CREATE INDEX idx_sign_in_limits_updated_at ON sign_in_limits (updated_at);
