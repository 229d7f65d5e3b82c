/**
 * A throwaway Debian PostgreSQL 15 server on a free loopback port, for the test suite and benchmarks.
 * initdb refuses root, so as root the server runs as the `postgres` system user via runuser.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/server/db/embedded.js';

export { freePort };

export const PG15_BIN = '/usr/lib/postgresql/15/bin';

export interface Pg15Server {
  url: string;
  stop(): void;
}

const isRoot = () => process.getuid?.() === 0;

function asPostgres(cmd: string, args: string[]): void {
  const [file, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  const r = spawnSync(file, argv, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
}

export async function startPg15(): Promise<Pg15Server> {
  if (!fs.existsSync(path.join(PG15_BIN, 'initdb'))) {
    throw new Error(
      `Debian's PostgreSQL 15 is not installed (${PG15_BIN}/initdb missing). Install it with:\n` +
        '  sudo apt-get update && sudo apt-get install -y postgresql-15\n' +
        '(npm test does this by itself when run as root)',
    );
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-pg15-'));
  fs.chmodSync(dir, 0o755);
  const pgdata = path.join(dir, 'data');
  if (isRoot()) {
    try {
      execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
    } catch {
      execFileSync('useradd', ['-r', '-M', '-s', '/usr/sbin/nologin', 'postgres']);
    }
    execFileSync('chown', ['postgres', dir]);
  }
  asPostgres(path.join(PG15_BIN, 'initdb'), [
    '-D',
    pgdata,
    '-U',
    'postgres',
    '--auth=trust',
    '--encoding=UTF8',
    '--no-locale',
  ]);
  const port = await freePort();
  const opts =
    `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200 ` +
    '-c fsync=off -c synchronous_commit=off -c full_page_writes=off';
  asPostgres(path.join(PG15_BIN, 'pg_ctl'), [
    '-D',
    pgdata,
    '-o',
    opts,
    '-l',
    path.join(dir, 'server.log'),
    '-w',
    '-t',
    '60',
    'start',
  ]);
  let stopped = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        asPostgres(path.join(PG15_BIN, 'pg_ctl'), ['-D', pgdata, '-m', 'immediate', '-w', 'stop']);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
