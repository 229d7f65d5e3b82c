import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/server/config.js';

describe('config', () => {
  it('defaults to port 3000, ./data, the embedded database and migrating on start', () => {
    const c = loadConfig({}, '/srv/app');
    expect(c.port).toBe(3000);
    expect(c.dataDir).toBe('/srv/app/data');
    expect(c.databaseUrl).toBeUndefined();
    expect(c.migrateOnStart).toBe(true);
    expect(c.logLevel).toBe('info');
    expect(c.migration).toEqual({ lockTimeout: '5s', lockRetries: 5, runnerLockWaitMs: 60_000 });
    expect(path.basename(c.migrationsDir)).toBe('migrations');
  });

  it('reads every variable it documents', () => {
    const c = loadConfig(
      {
        PORT: '8080',
        DATA_DIR: '/var/lib/recorder',
        DATABASE_URL: 'postgres://u:p@db:5432/rec',
        LOG_LEVEL: 'debug',
        MIGRATE_ON_START: 'false',
        MIGRATION_LOCK_TIMEOUT: '750ms',
        MIGRATION_LOCK_RETRIES: '2',
        EMBEDDED_PG_PORT: '55432',
      },
      '/x',
    );
    expect(c).toMatchObject({
      port: 8080,
      dataDir: '/var/lib/recorder',
      databaseUrl: 'postgres://u:p@db:5432/rec',
      logLevel: 'debug',
      migrateOnStart: false,
      embeddedPgPort: 55432,
    });
    expect(c.migration.lockTimeout).toBe('750ms');
    expect(c.migration.lockRetries).toBe(2);
  });

  it.each([
    ['PORT', 'abc', /PORT: "abc" is not a whole number \(accepted: 0\.\.65535\)/],
    ['PORT', '70000', /PORT: 70000 is out of range/],
    ['DATABASE_URL', 'not a url', /DATABASE_URL: is not a URL/],
    ['DATABASE_URL', 'mysql://x@y/z', /DATABASE_URL: protocol "mysql:" is not supported/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL: "loud" is not a level \(accepted: fatal, error/],
    ['MIGRATE_ON_START', 'maybe', /MIGRATE_ON_START: "maybe" is not a boolean/],
    ['MIGRATION_LOCK_TIMEOUT', '5 seconds', /MIGRATION_LOCK_TIMEOUT: "5 seconds" is not a duration/],
  ])('rejects %s=%s with a message naming the variable', (name, value, message) => {
    let err: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe(name);
    expect((err as Error).message).toMatch(message);
  });
});

describe('config: storage', () => {
  const s3 = { STORAGE_PROVIDER: 's3', S3_BUCKET: 'media', S3_ACCESS_KEY_ID: 'AKIA1', S3_SECRET_ACCESS_KEY: 'secret' };
  const key = 'k3y-0123456789abcdef';

  it('defaults to local storage under DATA_DIR/media, without S3 or a CDN', () => {
    expect(loadConfig({}, '/srv/app').storage).toEqual({
      primary: 'local',
      local: { dir: '/srv/app/data/media' },
      s3: undefined,
      cdn: undefined,
    });
    expect(loadConfig({ DATA_DIR: '/var/lib/recorder' }).storage.local).toEqual({ dir: '/var/lib/recorder/media' });
  });

  it('reads every S3 and CDN variable; CDN_BASE_URL always ends in "/"', () => {
    const c = loadConfig({
      ...s3,
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_REGION: 'eu-west-3',
      S3_FORCE_PATH_STYLE: 'false',
      S3_PRESIGN: 'on',
      S3_PRESIGN_TTL_SECONDS: '60',
      CDN_BASE_URL: 'https://cdn.example.com/media',
      CDN_SIGNING_KEY: key,
      CDN_URL_TTL_SECONDS: '120',
    });
    expect(c.storage).toEqual({
      primary: 's3',
      local: { dir: expect.stringMatching(/media$/) },
      s3: {
        endpoint: 'http://127.0.0.1:9000',
        region: 'eu-west-3',
        bucket: 'media',
        accessKeyId: 'AKIA1',
        secretAccessKey: 'secret',
        forcePathStyle: false,
        presign: true,
        presignTtlSeconds: 60,
      },
      cdn: { baseUrl: 'https://cdn.example.com/media/', signingKey: key, urlTtlSeconds: 120 },
    });
    expect(loadConfig({ CDN_BASE_URL: 'http://cdn.local/' }).storage.cdn).toEqual({
      baseUrl: 'http://cdn.local/',
      signingKey: undefined,
      urlTtlSeconds: 300,
    });
  });

  it('defaults S3_REGION to us-east-1, path-style to on exactly when S3_ENDPOINT is set, presigning off', () => {
    expect(loadConfig(s3).storage.s3).toMatchObject({
      region: 'us-east-1',
      endpoint: undefined,
      forcePathStyle: false,
      presign: false,
      presignTtlSeconds: 300,
    });
    expect(loadConfig({ ...s3, S3_ENDPOINT: 'https://minio.internal' }).storage.s3).toMatchObject({
      forcePathStyle: true,
    });
    expect(loadConfig({ ...s3, STORAGE_PROVIDER: 'S3' }).storage.primary).toBe('s3');
  });

  it('configures S3 beside local whenever S3_BUCKET is set: STORAGE_PROVIDER only picks where uploads go', () => {
    const c = loadConfig({ ...s3, STORAGE_PROVIDER: 'local' }).storage;
    expect(c.primary).toBe('local');
    expect(c.s3).toMatchObject({ bucket: 'media' });
  });

  it.each([
    [{ STORAGE_PROVIDER: 'gcs' }, 'STORAGE_PROVIDER', /"gcs" is not a provider \(accepted: local, s3\)/],
    [{ STORAGE_PROVIDER: 's3' }, 'S3_BUCKET', /S3_BUCKET: is required when STORAGE_PROVIDER=s3/],
    [
      { ...s3, S3_BUCKET: '' },
      'S3_BUCKET',
      /S3_BUCKET: is required when S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY is set/,
    ],
    [{ S3_ENDPOINT: 'http://127.0.0.1:9000' }, 'S3_BUCKET', /is required when S3_ENDPOINT is set/],
    [{ ...s3, S3_ACCESS_KEY_ID: undefined }, 'S3_ACCESS_KEY_ID', /S3_ACCESS_KEY_ID: is required when S3_BUCKET is set/],
    [{ ...s3, S3_SECRET_ACCESS_KEY: ' ' }, 'S3_SECRET_ACCESS_KEY', /S3_SECRET_ACCESS_KEY: is required/],
    [{ ...s3, S3_BUCKET: 'My_Bucket' }, 'S3_BUCKET', /"My_Bucket" is not a bucket name/],
    [{ S3_BUCKET: 'Not_Valid', S3_ENDPOINT: 'nope' }, 'S3_BUCKET', /"Not_Valid" is not a bucket name/],
    [
      { ...s3, S3_ENDPOINT: 'minio:9000' },
      'S3_ENDPOINT',
      /protocol "minio:" is not supported \(accepted: http:, https:\)/,
    ],
    [{ ...s3, S3_ENDPOINT: 'not a url' }, 'S3_ENDPOINT', /"not a url" is not a URL/],
    [{ ...s3, S3_FORCE_PATH_STYLE: 'sometimes' }, 'S3_FORCE_PATH_STYLE', /"sometimes" is not a boolean/],
    [{ ...s3, S3_PRESIGN: 'maybe' }, 'S3_PRESIGN', /"maybe" is not a boolean/],
    [{ ...s3, S3_PRESIGN_TTL_SECONDS: '604801' }, 'S3_PRESIGN_TTL_SECONDS', /out of range \(accepted: 1\.\.604800\)/],
    [{ CDN_BASE_URL: 'cdn.example.com/media' }, 'CDN_BASE_URL', /is not a URL \(accepted: an http\(s\) URL/],
    [{ CDN_BASE_URL: 'ftp://cdn.example.com/' }, 'CDN_BASE_URL', /protocol "ftp:" is not supported/],
    [{ CDN_BASE_URL: 'https://cdn.example.com/?v=1' }, 'CDN_BASE_URL', /has a query or fragment/],
    [{ CDN_SIGNING_KEY: key }, 'CDN_BASE_URL', /is required when CDN_SIGNING_KEY is set/],
    [{ CDN_BASE_URL: 'https://cdn.example.com/', CDN_SIGNING_KEY: 'short' }, 'CDN_SIGNING_KEY', /16-256 characters/],
    [
      { CDN_BASE_URL: 'https://cdn.example.com/', CDN_SIGNING_KEY: 'has a space in it, quite long' },
      'CDN_SIGNING_KEY',
      /is not accepted/,
    ],
    [{ CDN_URL_TTL_SECONDS: '0' }, 'CDN_URL_TTL_SECONDS', /out of range/],
  ])('rejects %j with a ConfigError naming %s', (env, variable, message) => {
    let err: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe(variable);
    expect((err as Error).message).toMatch(message);
  });
});

describe('config: logs and metrics', () => {
  it('LOG_FORMAT defaults to pretty on a terminal and json otherwise; an explicit value wins', () => {
    expect(loadConfig({}, '/x', true).logFormat).toBe('pretty');
    expect(loadConfig({}, '/x', false).logFormat).toBe('json');
    expect(loadConfig({ LOG_FORMAT: 'json' }, '/x', true).logFormat).toBe('json');
    expect(loadConfig({ LOG_FORMAT: ' Pretty ' }, '/x', false).logFormat).toBe('pretty');
  });

  it('serves no metrics unless METRICS_PORT or METRICS_TOKEN is set', () => {
    expect(loadConfig({}).metrics).toEqual({ port: undefined, token: undefined });
    const token = 'a'.repeat(32);
    expect(loadConfig({ METRICS_PORT: '9464', METRICS_TOKEN: token }).metrics).toEqual({ port: 9464, token });
    expect(loadConfig({ METRICS_PORT: '0' }).metrics.port).toBe(0);
  });

  it.each([
    ['LOG_FORMAT', 'xml', /LOG_FORMAT: "xml" is not a format \(accepted: json, pretty\)/],
    ['METRICS_PORT', 'nine', /METRICS_PORT: "nine" is not a whole number/],
    ['METRICS_PORT', '3000', /METRICS_PORT: 3000 is PORT too/],
    ['METRICS_TOKEN', 'short', /METRICS_TOKEN: is not accepted \(accepted: 16-512 characters/],
    ['METRICS_TOKEN', `${'a'.repeat(20)} b`, /METRICS_TOKEN: is not accepted/],
  ])('rejects %s=%s with a message naming the variable', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });
});
