import { isIP } from 'node:net';
import path from 'node:path';

/** Thrown when an environment variable holds a value we cannot use; the message names the variable. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

export type LockMode = 'wait' | 'fail';
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /** undefined: run the embedded PostgreSQL under dataDir. */
  databaseUrl: string | undefined;
  logLevel: LogLevel;
  /** LOG_FORMAT: pretty (pino-pretty lines) by default when stdout is a terminal, JSON otherwise. */
  logFormat: LogFormat;
  /** Where GET /metrics is served (metrics/); neither set: nowhere. */
  metrics: MetricsConfig;
  migrateOnStart: boolean;
  /** A full backup before every `migrate up` that applies something (destructive ones take one anyway). */
  backupBeforeMigrate: boolean;
  migrationsDir: string;
  migration: {
    /** PostgreSQL interval text for SET lock_timeout, e.g. "5s". */
    lockTimeout: string;
    /** How many times a step that hit lock_timeout is retried. */
    lockRetries: number;
    /** How long `--lock wait` waits for another runner, in ms. */
    runnerLockWaitMs: number;
  };
  /** 0 picks a free loopback port at every start. */
  embeddedPgPort: number;
  /** Where recordings' media live (every configured storage; new uploads go to primary); docs/storage.md. */
  storage: StorageConfig;
  /** Largest upload accepted, bytes (413 above). */
  maxUploadBytes: number;
  /** The public origin (https://rec.example.com) when behind a proxy; mutating cookie requests must come from it. */
  publicUrl: string | undefined;
  /** Failed sign-ins that lock an account or an address for a while (auth/sign-in-limits.ts). */
  signInLimits: SignInLimitsConfig;
  /**
   * Which proxies' X-Forwarded-For/-Proto/-Host to believe (Fastify's trustProxy): false (none, the
   * default), true (any peer), or addresses/CIDR ranges (and proxy-addr's names loopback, linklocal,
   * uniquelocal).
   */
  trustProxy: boolean | string[];
  /** Run the job workers (processing, deletions, sweeps) in this process. */
  jobsEnabled: boolean;
  /** An active recording session without a heartbeat for this long is marked interrupted (seconds). */
  sessionStaleSeconds: number;
  /** How long stop() lets requests in flight finish before it closes their connections. */
  shutdownGraceMs: number;
  /**
   * USE_DATABASE_STORAGE as the share of users (0..100) whose takes the web app keeps on the server;
   * the others record into their browser only. true = 100, false = 0, "25%" = 25 (features.ts).
   */
  databaseStoragePercent: number;
  /**
   * Database outages (db/outage.ts): the longest wait for a connection from the app's pool, and the
   * longest statement on it (0 = none); requests past them answer 503 DB_UNAVAILABLE instead of hanging.
   */
  dbConnectTimeoutMs: number;
  dbStatementTimeoutMs: number;
  /** ADMIN_EMAILS: accounts that administer the instance besides the first one created (access.ts). */
  adminEmails: string[];
}

export interface MetricsConfig {
  /** METRICS_PORT: a second listener on HOST serving only GET /metrics (0: a free port, for tests). */
  port: number | undefined;
  /** METRICS_TOKEN: GET /metrics on the main port, for `Authorization: Bearer <token>` only. */
  token: string | undefined;
}

export interface SignInLimitsConfig {
  /** Failed sign-ins per account per minute, from all addresses together (SIGNIN_RATE_PER_MINUTE). */
  accountPerMinute: number;
  /** Failed sign-ins per client address per minute, over all accounts together. */
  addressPerMinute: number;
  /** The longest lock; the first lasts a minute and each next one twice as long, up to this. */
  lockMaxSeconds: number;
}

export const STORAGE_PROVIDERS = ['local', 's3'] as const;
export type StorageProviderName = (typeof STORAGE_PROVIDERS)[number];

/** An S3 bucket this server can reach: given when S3_BUCKET is set (docs/storage.md). */
export interface S3StorageConfig {
  /** undefined: AWS's own endpoint for the region. */
  endpoint: string | undefined;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
  /** S3_PRESIGN: media redirects go to a presigned GET that expires after presignTtlSeconds. */
  presign: boolean;
  presignTtlSeconds: number;
}

/** A CDN in front of the primary storage (CDN_BASE_URL). Redirects to it only with a signing key. */
export interface CdnConfig {
  /** Absolute http(s) URL ending in "/". */
  baseUrl: string;
  /** CDN_SIGNING_KEY: the nginx secure_link secret; undefined: no redirect to the CDN is ever issued. */
  signingKey: string | undefined;
  urlTtlSeconds: number;
}

/**
 * Every storage this server can reach: local always, s3 when S3_BUCKET is set. Rows are read and
 * deleted wherever their storage columns say (storage/registry.ts); `primary` only chooses where new
 * uploads go.
 */
export interface StorageConfig {
  /** STORAGE_PROVIDER. */
  primary: StorageProviderName;
  /** DATA_DIR/media. */
  local: { dir: string };
  s3: S3StorageConfig | undefined;
  cdn: CdnConfig | undefined;
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim()))
    throw new ConfigError(name, `"${raw}" is not a whole number (accepted: ${min}..${max})`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `${n} is out of range (accepted: ${min}..${max})`);
  return n;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  throw new ConfigError(name, `"${raw}" is not a boolean (accepted: true, false, 1, 0, yes, no, on, off)`);
}

/** true | false | N% (0..100): the spec's flag, plus a stable share of users for a gradual rollout. */
function rolloutPercent(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const v = raw.trim().toLowerCase();
  if (v === 'true') return 100;
  if (v === 'false') return 0;
  const m = /^(\d{1,3})%$/.exec(v);
  if (m && Number(m[1]) <= 100) return Number(m[1]);
  throw new ConfigError(
    name,
    `"${raw}" is not accepted (accepted: true, false, or a share of users from 0% to 100%, e.g. 25%)`,
  );
}

const PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

function isAddressOrRange(entry: string): boolean {
  if (PROXY_NAMES.includes(entry)) return true;
  const [address = '', bits, ...rest] = entry.split('/');
  const family = isIP(address);
  if (!family || rest.length) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

/**
 * TRUST_PROXY: true/false, or a comma-separated list of addresses and CIDR ranges. Not a hop count:
 * Fastify 5 trusts nothing for one (a count cannot tell the proxy from a client that connects directly and
 * sends enough X-Forwarded-For entries), so a count would silently do nothing; we refuse it instead.
 */
function trustProxy(env: Env): boolean | string[] {
  const raw = env.TRUST_PROXY?.trim() ?? '';
  const v = raw.toLowerCase();
  if (['', 'false', 'no', 'off', '0'].includes(v)) return false;
  if (['true', 'yes', 'on'].includes(v)) return true;
  if (/^\d+$/.test(v)) {
    throw new ConfigError(
      'TRUST_PROXY',
      `a hop count (${v}) is not accepted: name the proxy's addresses instead (e.g. 127.0.0.1, 10.0.0.0/8)`,
    );
  }
  const entries = v.split(',').map((e) => e.trim());
  const bad = entries.find((e) => !isAddressOrRange(e));
  if (bad !== undefined) {
    throw new ConfigError(
      'TRUST_PROXY',
      `"${bad}" is not accepted (accepted: true, false, a hop count, or addresses and CIDR ranges such as ` +
        '10.0.0.0/8,::1, or loopback, linklocal, uniquelocal)',
    );
  }
  return entries;
}

function pgInterval(env: Env, name: string, fallback: string): string {
  const raw = (env[name] ?? '').trim();
  if (raw === '') return fallback;
  if (!/^\d+(ms|s|min)$/.test(raw))
    throw new ConfigError(name, `"${raw}" is not a duration (accepted: e.g. 500ms, 5s, 1min)`);
  return raw;
}

function databaseUrl(env: Env): string | undefined {
  const raw = env.DATABASE_URL?.trim();
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('DATABASE_URL', 'is not a URL (accepted: postgres://user:password@host:port/database)');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(
      'DATABASE_URL',
      `protocol "${url.protocol}" is not supported (accepted: postgres:, postgresql:)`,
    );
  }
  return raw;
}

function httpUrl(env: Env, name: string, example: string): string | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `"${raw}" is not a URL (accepted: an http(s) URL, e.g. ${example})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(name, `protocol "${url.protocol}" is not supported (accepted: http:, https:)`);
  }
  if (url.search || url.hash)
    throw new ConfigError(name, `"${raw}" has a query or fragment (accepted: a base URL, e.g. ${example})`);
  return raw;
}

function required(env: Env, name: string, why: string): string {
  const raw = env[name]?.trim();
  if (!raw) throw new ConfigError(name, `is required ${why}`);
  return raw;
}

const S3_VARIABLES = ['S3_ENDPOINT', 'S3_REGION', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY', 'S3_PRESIGN'];
/** A week: the longest a SigV4 presigned URL may live. */
const MAX_URL_TTL_SECONDS = 604_800;

function s3Storage(env: Env): S3StorageConfig | undefined {
  const bucket = env.S3_BUCKET?.trim();
  if (!bucket) {
    const given = S3_VARIABLES.filter((name) => env[name]?.trim());
    if (given.length) throw new ConfigError('S3_BUCKET', `is required when ${given.join(', ')} is set`);
    return undefined;
  }
  // S3's bucket naming rules (3-63 lowercase letters, digits, dots, hyphens); a bad name would otherwise
  // surface only at the first upload, as a signature or DNS error far from its cause.
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new ConfigError(
      'S3_BUCKET',
      `"${bucket}" is not a bucket name (accepted: 3-63 characters: a-z, 0-9, ".", "-")`,
    );
  }
  const why = 'when S3_BUCKET is set';
  const endpoint = httpUrl(env, 'S3_ENDPOINT', 'http://127.0.0.1:9000');
  return {
    endpoint,
    region: env.S3_REGION?.trim() || 'us-east-1',
    bucket,
    accessKeyId: required(env, 'S3_ACCESS_KEY_ID', why),
    secretAccessKey: required(env, 'S3_SECRET_ACCESS_KEY', why),
    // MinIO, s3rver and most self-hosted S3 servers have no per-bucket DNS names; AWS itself does.
    forcePathStyle: bool(env, 'S3_FORCE_PATH_STYLE', endpoint !== undefined),
    presign: bool(env, 'S3_PRESIGN', false),
    presignTtlSeconds: int(env, 'S3_PRESIGN_TTL_SECONDS', 300, 1, MAX_URL_TTL_SECONDS),
  };
}

/**
 * The key is pasted into nginx's secure_link_md5 as it is, so it is limited to characters that need no
 * quoting there; 16 is the least that is not guessable by trying.
 */
const SIGNING_KEY = /^[A-Za-z0-9._~-]{16,256}$/;

function cdn(env: Env): CdnConfig | undefined {
  const raw = httpUrl(env, 'CDN_BASE_URL', 'https://cdn.example.com/media/');
  const signingKey = env.CDN_SIGNING_KEY?.trim() || undefined;
  if (signingKey !== undefined && !SIGNING_KEY.test(signingKey)) {
    throw new ConfigError(
      'CDN_SIGNING_KEY',
      'is not accepted (accepted: 16-256 characters of A-Z a-z 0-9 . _ ~ -, e.g. from `openssl rand -hex 32`)',
    );
  }
  const urlTtlSeconds = int(env, 'CDN_URL_TTL_SECONDS', 300, 1, MAX_URL_TTL_SECONDS);
  if (raw === undefined) {
    if (signingKey) throw new ConfigError('CDN_BASE_URL', 'is required when CDN_SIGNING_KEY is set');
    return undefined;
  }
  // Keys are appended to it, so it always ends in "/": "https://cdn.example/media" + "users/…" must not glue.
  return { baseUrl: raw.endsWith('/') ? raw : `${raw}/`, signingKey, urlTtlSeconds };
}

function storage(env: Env, dataDir: string): StorageConfig {
  const primary = (env.STORAGE_PROVIDER?.trim().toLowerCase() || 'local') as StorageProviderName;
  if (!STORAGE_PROVIDERS.includes(primary)) {
    throw new ConfigError(
      'STORAGE_PROVIDER',
      `"${env.STORAGE_PROVIDER}" is not a provider (accepted: ${STORAGE_PROVIDERS.join(', ')})`,
    );
  }
  const s3 = s3Storage(env);
  if (primary === 's3' && !s3) throw new ConfigError('S3_BUCKET', 'is required when STORAGE_PROVIDER=s3');
  return { primary, local: { dir: path.join(dataDir, 'media') }, s3, cdn: cdn(env) };
}

/** A comma-separated list of email addresses ('' = none). */
function emailList(env: Env, name: string): string[] {
  const entries = (env[name] ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  const bad = entries.find((e) => !/^[^\s@]+@[^\s@]+$/.test(e));
  if (bad !== undefined) {
    throw new ConfigError(name, `"${bad}" is not an email address (accepted: a@example.com,b@example.com)`);
  }
  return entries;
}

function logFormat(env: Env, stdoutIsTty: boolean): LogFormat {
  const raw = env.LOG_FORMAT?.trim().toLowerCase();
  if (!raw) return stdoutIsTty ? 'pretty' : 'json';
  if (!(LOG_FORMATS as readonly string[]).includes(raw))
    throw new ConfigError('LOG_FORMAT', `"${env.LOG_FORMAT}" is not a format (accepted: ${LOG_FORMATS.join(', ')})`);
  return raw as LogFormat;
}

/** A bearer token short enough to guess would make the metrics public; 16 characters is the least accepted. */
const METRICS_TOKEN = /^[A-Za-z0-9._~+/=-]{16,512}$/;

function metrics(env: Env, mainPort: number): MetricsConfig {
  const port = env.METRICS_PORT?.trim() ? int(env, 'METRICS_PORT', 0, 0, 65535) : undefined;
  if (port !== undefined && port !== 0 && port === mainPort)
    throw new ConfigError('METRICS_PORT', `${port} is PORT too (accepted: another port, so /metrics stays apart)`);
  const token = env.METRICS_TOKEN?.trim() || undefined;
  if (token !== undefined && !METRICS_TOKEN.test(token)) {
    throw new ConfigError(
      'METRICS_TOKEN',
      'is not accepted (accepted: 16-512 characters of A-Z a-z 0-9 . _ ~ + / = -, e.g. from `openssl rand -hex 32`)',
    );
  }
  return { port, token };
}

/** Parses and validates the environment once, at start. Throws ConfigError naming the variable. */
export function loadConfig(
  env: Env = process.env,
  cwd = process.cwd(),
  stdoutIsTty = Boolean(process.stdout.isTTY),
): Config {
  const logLevel = (env.LOG_LEVEL?.trim() || 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `"${env.LOG_LEVEL}" is not a level (accepted: ${LOG_LEVELS.join(', ')})`);
  }
  const dataDir = path.resolve(cwd, env.DATA_DIR?.trim() || './data');
  const port = int(env, 'PORT', 3000, 0, 65535);
  return {
    port,
    host: env.HOST?.trim() || '0.0.0.0',
    dataDir,
    databaseUrl: databaseUrl(env),
    logLevel,
    logFormat: logFormat(env, stdoutIsTty),
    metrics: metrics(env, port),
    migrateOnStart: bool(env, 'MIGRATE_ON_START', true),
    backupBeforeMigrate: bool(env, 'BACKUP_BEFORE_MIGRATE', false),
    migrationsDir: path.resolve(cwd, env.MIGRATIONS_DIR?.trim() || defaultMigrationsDir()),
    migration: {
      lockTimeout: pgInterval(env, 'MIGRATION_LOCK_TIMEOUT', '5s'),
      lockRetries: int(env, 'MIGRATION_LOCK_RETRIES', 5, 0, 100),
      runnerLockWaitMs: int(env, 'MIGRATION_RUNNER_WAIT_MS', 60_000, 0, 3_600_000),
    },
    embeddedPgPort: int(env, 'EMBEDDED_PG_PORT', 0, 0, 65535),
    storage: storage(env, dataDir),
    maxUploadBytes: int(env, 'MAX_UPLOAD_BYTES', 10 * 1024 ** 3, 1, Number.MAX_SAFE_INTEGER),
    publicUrl: httpUrl(env, 'PUBLIC_URL', 'https://recorder.example.com'),
    signInLimits: {
      accountPerMinute: int(env, 'SIGNIN_RATE_PER_MINUTE', 10, 1, 10_000),
      addressPerMinute: int(env, 'SIGNIN_ADDRESS_RATE_PER_MINUTE', 30, 1, 100_000),
      lockMaxSeconds: int(env, 'SIGNIN_LOCK_MAX_SECONDS', 900, 60, 86_400),
    },
    trustProxy: trustProxy(env),
    jobsEnabled: bool(env, 'JOBS_ENABLED', true),
    sessionStaleSeconds: int(env, 'SESSION_STALE_SECONDS', 45, 1, 86_400),
    shutdownGraceMs: int(env, 'SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    databaseStoragePercent: rolloutPercent(env, 'USE_DATABASE_STORAGE', 100),
    dbConnectTimeoutMs: int(env, 'DB_CONNECT_TIMEOUT_MS', 5000, 100, 600_000),
    dbStatementTimeoutMs: int(env, 'DB_STATEMENT_TIMEOUT_MS', 30_000, 0, 86_400_000),
    adminEmails: emailList(env, 'ADMIN_EMAILS'),
  };
}

/** migrations/ at the package root, wherever the process was started from. */
export function defaultMigrationsDir(): string {
  return path.resolve(new URL('.', import.meta.url).pathname, '../../migrations');
}
