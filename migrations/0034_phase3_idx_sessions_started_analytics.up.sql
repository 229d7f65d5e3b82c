-- migrate:no-transaction
-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- Why: the engine sets lock_timeout for every file (MIGRATION_LOCK_TIMEOUT) and retries on timeout; a
-- statement_timeout would cut legitimate long work such as index builds.
-- Everyone's dashboard (an administrator's /api/analytics/sessions/summary over up to 366 days) reads every
-- session of the range: the range on started_at, and only the columns it counts by. With them in the index
-- (INCLUDE), the counts and percentiles come from an index-only scan instead of the wide heap (device_info,
-- settings): measured on 1,000,000 sessions, 90 days, docs/schema.md. One user's dashboard uses
-- idx_sessions_user_started. recording_sessions may hold rows, so the index is built CONCURRENTLY, alone.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_sessions_started_analytics
  ON recording_sessions (started_at)
  INCLUDE (recording_type, status, discarded_at, duration, browser, os, device_kind, quality);
