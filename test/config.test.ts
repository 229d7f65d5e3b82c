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
    expect(c).toMatchObject({ port: 8080, dataDir: '/var/lib/recorder', databaseUrl: 'postgres://u:p@db:5432/rec', logLevel: 'debug', migrateOnStart: false, embeddedPgPort: 55432 });
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
