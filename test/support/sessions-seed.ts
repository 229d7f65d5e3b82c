/**
 * Many recording sessions at once, for the analytics tests and bench/analytics.bench.ts: one
 * INSERT … SELECT generate_series, every value a function of the row's number g through an integer hash,
 * so `expectedSessions` (the same functions in TypeScript) knows each row without reading it back. The
 * tests compute their known answers from that model; the bench uses the scale (1,000,000 over 10,000 users).
 */
import type pg from 'pg';
import { RECORDING_TYPES, type RecordingType } from '../../src/shared/domain.js';

const WIN = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64)';
const CHROME = 'AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const WEBKIT = 'AppleWebKit/605.1.15 (KHTML, like Gecko)';

/** Real user agents and what bowser makes of them (test/analytics.test.ts checks the names against bowser). */
export const SEED_AGENTS = [
  {
    ua: `${WIN} ${CHROME}`,
    browser: 'Chrome',
    os: 'Windows',
    kind: 'desktop',
  },
  {
    ua: `Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) ${WEBKIT} Version/17.1 Safari/605.1.15`,
    browser: 'Safari',
    os: 'macOS',
    kind: 'desktop',
  },
  {
    ua: 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0',
    browser: 'Firefox',
    os: 'Linux',
    kind: 'desktop',
  },
  {
    ua: `Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) ${WEBKIT} Version/17.1 Mobile/15E148 Safari/604.1`,
    browser: 'Safari',
    os: 'iOS',
    kind: 'mobile',
  },
  {
    ua: `Mozilla/5.0 (Linux; Android 13; SM-X700) ${CHROME}`,
    browser: 'Chrome',
    os: 'Android',
    kind: 'tablet',
  },
  {
    ua: `${WIN} ${CHROME} Edg/120.0.0.0`,
    browser: 'Microsoft Edge',
    os: 'Windows',
    kind: 'desktop',
  },
] as const;

export const SEED_ERRORS = [
  'The recording tab was closed',
  'Camera disconnected',
  'Screen sharing stopped',
  'Microphone permission denied',
  'Out of disk space in the browser',
] as const;
export const SEED_QUALITIES = ['high', 'medium', 'low'] as const;

export interface SeedOptions {
  /** Sessions to create, numbered g = 1..sessions. */
  sessions: number;
  /** Users they are spread over (created, ids `${userPrefix}1..`); session g belongs to user (g-1) % users + 1. */
  users: number;
  userPrefix?: string;
  /** The latest start: every session starts within `days` days before it. */
  end: Date;
  days: number;
}

export type SeedOutcome = 'completed' | 'interrupted' | 'discarded' | 'active';

/** What row g holds (the model of seedSessions' SQL). */
export interface SeededSession {
  userId: string;
  startedAt: Date;
  recordingType: RecordingType;
  outcome: SeedOutcome;
  /** Seconds; null while active. */
  duration: number | null;
  errorMessage: string | null;
  agent: (typeof SEED_AGENTS)[number];
  quality: (typeof SEED_QUALITIES)[number];
}

/** Knuth's multiplicative hash of g, kept below 2^32: exact in SQL bigint and in a JS number alike. */
const hash = (g: number) => (g * 2654435761) % 4294967296;

/** Of 20: 14 completed, 3 interrupted, 2 discarded, 1 active. */
function outcomeOf(h: number): SeedOutcome {
  const k = h % 20;
  if (k < 14) return 'completed';
  if (k < 17) return 'interrupted';
  if (k < 19) return 'discarded';
  return 'active';
}

export function expectedSession(g: number, o: SeedOptions): SeededSession {
  const h = hash(g);
  const outcome = outcomeOf(h);
  const offsetSeconds = (g * 7919) % (o.days * 86400);
  return {
    userId: `${o.userPrefix ?? 'seed-u'}${((g - 1) % o.users) + 1}`,
    startedAt: new Date(o.end.getTime() - offsetSeconds * 1000),
    recordingType: RECORDING_TYPES[Math.floor(h / 16) % RECORDING_TYPES.length]!,
    outcome,
    duration: outcome === 'active' ? null : 5 + (Math.floor(h / 65536) % 600),
    errorMessage: outcome === 'interrupted' ? SEED_ERRORS[Math.floor(h / 32) % SEED_ERRORS.length]! : null,
    agent: SEED_AGENTS[Math.floor(h / 256) % SEED_AGENTS.length]!,
    quality: SEED_QUALITIES[Math.floor(h / 4096) % SEED_QUALITIES.length]!,
  };
}

/** Every seeded row, in order (for small seeds: the tests' model). */
export function expectedSessions(o: SeedOptions): SeededSession[] {
  return Array.from({ length: o.sessions }, (_, i) => expectedSession(i + 1, o));
}

/**
 * Creates the users (if missing) and the sessions. Runs as one statement per table; on the bench's
 * scale that is about a minute on a busy machine. Returns nothing: expectedSession says what is there.
 */
export async function seedSessions(c: pg.ClientBase, o: SeedOptions): Promise<void> {
  const prefix = o.userPrefix ?? 'seed-u';
  await c.query(
    `INSERT INTO users (id, email, display_name)
     SELECT $1 || u, $1 || u || '@seed.example', 'Seed user ' || u FROM generate_series(1, $2) u
     ON CONFLICT (id) DO NOTHING`,
    [prefix, o.users],
  );
  await c.query(
    `INSERT INTO recording_sessions (user_id, recording_type, started_at, ended_at, duration, device_info, settings,
       status, error_message, discarded_at, browser, os, device_kind, quality, last_heartbeat_at)
     SELECT $1 || (((g - 1) % $3) + 1), ($5::text[])[(h / 16) % cardinality($5::text[]) + 1], started,
            CASE WHEN outcome = 'active' THEN NULL ELSE started + make_interval(secs => dur) END,
            CASE WHEN outcome = 'active' THEN NULL ELSE dur END,
            jsonb_build_object('userAgent', ($6::text[])[agent + 1], 'quality', quality),
            jsonb_build_object('quality', quality, 'mic', true, 'countdownSeconds', 3),
            CASE outcome WHEN 'discarded' THEN 'completed' ELSE outcome END,
            CASE WHEN outcome = 'interrupted' THEN ($9::text[])[(h / 32) % cardinality($9::text[]) + 1] END,
            CASE WHEN outcome = 'discarded' THEN started + make_interval(secs => dur) END,
            ($7::text[])[agent + 1], ($8::text[])[agent + 1], ($10::text[])[agent + 1], quality,
            CASE WHEN outcome = 'active' THEN started END
       FROM generate_series(1, $2::bigint) g,
            LATERAL (SELECT (g * 2654435761) % 4294967296 AS h) hh,
            LATERAL (SELECT CASE WHEN h % 20 < 14 THEN 'completed' WHEN h % 20 < 17 THEN 'interrupted'
                                 WHEN h % 20 < 19 THEN 'discarded' ELSE 'active' END AS outcome,
                            (5 + (h / 65536) % 600)::int AS dur,
                            ((h / 256) % cardinality($6::text[]))::int AS agent,
                            ($11::text[])[(h / 4096) % cardinality($11::text[]) + 1] AS quality,
                            $4::timestamptz - make_interval(secs => (g * 7919) % ($12::bigint * 86400)) AS started) v`,
    [
      prefix,
      o.sessions,
      o.users,
      o.end.toISOString(),
      [...RECORDING_TYPES],
      SEED_AGENTS.map((a) => a.ua),
      SEED_AGENTS.map((a) => a.browser),
      SEED_AGENTS.map((a) => a.os),
      [...SEED_ERRORS],
      SEED_AGENTS.map((a) => a.kind),
      [...SEED_QUALITIES],
      o.days,
    ],
  );
}
