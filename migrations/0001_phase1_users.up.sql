-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- Why: the engine sets lock_timeout for every file (MIGRATION_LOCK_TIMEOUT) and retries on timeout; a
-- statement_timeout would cut legitimate long work such as index builds.
-- Users: the spec's tables reference users(id) with a string id.
-- A new, empty table: its index is built plainly inside this file's transaction.

-- Shared by every table with an updated_at column: the database keeps it true, not each caller.
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END
$$;

CREATE TABLE users (
  id text PRIMARY KEY,
  email text NOT NULL,
  display_name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT chk_user_id CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
  CONSTRAINT chk_user_email CHECK (length(email) <= 320 AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
  CONSTRAINT chk_user_display_name CHECK (length(display_name) BETWEEN 1 AND 200)
);

-- One account per address, whatever its case.
CREATE UNIQUE INDEX idx_users_email_lower ON users (lower(email));
