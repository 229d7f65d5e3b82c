-- migrate:no-transaction
-- squawk-ignore-file require-lock-timeout, require-statement-timeout
-- Why: the engine sets lock_timeout for every file (MIGRATION_LOCK_TIMEOUT) and retries on timeout; a
-- statement_timeout would cut legitimate long work such as index builds.
-- The stale-session sweep runs every few seconds: "active sessions whose last sign of life (heartbeat,
-- else start) is older than the threshold". Partial, so it holds only the few active takes, however
-- many finished sessions the table keeps.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_sessions_active_heartbeat ON recording_sessions ((coalesce(last_heartbeat_at, started_at))) WHERE status = 'active';
