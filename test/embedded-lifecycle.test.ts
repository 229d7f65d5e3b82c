/**
 * What a user of `npm start` / `recorder` sees with no DATABASE_URL: the embedded PostgreSQL starts
 * under DATA_DIR, survives `kill -9` of the server, stops with SIGTERM, and the CLI joins a running server.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_VERSIONS } from './support/db.js';
import { freePort } from './support/pg15.js';

const BIN = path.resolve(import.meta.dirname, '../bin/recorder.js');

function cli(args: string[], env: Record<string, string>) {
  // The CLI's own log level (warn unless LOG_LEVEL is set): stderr then holds only what went wrong.
  const r = spawnSync(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env, LOG_LEVEL: '' },
    encoding: 'utf8',
    timeout: 90_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function serve(env: Record<string, string>): { child: ChildProcess; log: () => string } {
  let log = '';
  const child = spawn(process.execPath, [BIN, 'serve'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  return { child, log: () => log };
}

async function waitReady(url: string, ms = 90_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      if ((await fetch(`${url}/ready`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} not ready within ${ms} ms`);
}

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((r) => child.once('exit', (code) => r(code)));
}

function postmasterPid(dataDir: string): number | undefined {
  try {
    return Number(fs.readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return undefined;
  }
}

function postmasterPidPort(dataDir: string): number {
  return Number(fs.readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[3]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('embedded database lifecycle (no DATABASE_URL)', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let url: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-life-'));
    fs.chmodSync(dataDir, 0o755);
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    env = { DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: '', LOG_LEVEL: 'info' };
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    const pid = postmasterPid(dataDir);
    if (pid && alive(pid)) process.kill(pid, 'SIGQUIT');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts from nothing, migrates, and serves /ready', async () => {
    const s = serve(env);
    children.push(s.child);
    await waitReady(url);
    expect(fs.existsSync(path.join(dataDir, 'postgres', 'PG_VERSION'))).toBe(true);
    expect(s.log()).toContain('embedded PostgreSQL started');
    expect(s.log()).not.toMatch(/postgres:\/\/[^"]*:[^"*@]+@/); // no connection password in the logs

    // The CLI joins the server's database instead of starting a second one on the same files.
    const status = cli(['migrate', 'status'], env);
    expect(status.stderr).toBe('');
    expect(status.stdout).toContain(`${ALL_VERSIONS.length} applied, 0 pending, 0 drifted`);
    expect(status.code).toBe(0);
  });

  it('comes back after the server is killed with -9 (orphaned postmaster), keeping the data', async () => {
    const first = children.at(-1)!;
    const oldPostmaster = postmasterPid(dataDir)!;
    expect(alive(oldPostmaster)).toBe(true);
    first.kill('SIGKILL');
    await exited(first);
    expect(alive(oldPostmaster)).toBe(true); // PostgreSQL outlives its owner...

    const s = serve(env);
    children.push(s.child);
    await waitReady(url);
    expect(s.log()).toContain('left running by a process that died');
    expect(s.log()).toContain('schema up to date'); // same data directory, nothing re-applied
    expect(alive(oldPostmaster)).toBe(false); // ...and the next start stops it cleanly and takes over
    expect(postmasterPid(dataDir)).not.toBe(oldPostmaster);
  });

  it('stops cleanly on SIGTERM: exit 0, database stopped, no postmaster.pid left', async () => {
    const s = children.at(-1)!;
    const pm = postmasterPid(dataDir)!;
    s.kill('SIGTERM');
    expect(await exited(s)).toBe(0);
    expect(alive(pm)).toBe(false);
    expect(postmasterPid(dataDir)).toBeUndefined();
  });

  it('starts over a stale postmaster.pid whose process is gone', async () => {
    const stale = path.join(dataDir, 'postgres', 'postmaster.pid');
    fs.writeFileSync(
      stale,
      `999999\n${path.join(dataDir, 'postgres')}\n1700000000\n5432\n\n127.0.0.1\n  1  2\nready\n`,
    );
    const r = cli(['migrate', 'status'], env);
    expect(r.stdout).toContain(`${ALL_VERSIONS.length} applied`);
    expect(r.code).toBe(0);
    expect(postmasterPid(dataDir)).toBeUndefined(); // the CLI started the database and stopped it again
  });

  it('down refuses to drop data from the CLI; --force backs it up, and restore brings it back', async () => {
    const s = serve(env);
    children.push(s.child);
    await waitReady(url);
    const partial = cli(['migrate', 'down', '--to', '2'], env);
    // all empty but users/projects
    expect(partial.stdout).toContain(`${ALL_VERSIONS.length - 2} migration(s) rolled back`);
    expect(partial.code).toBe(0);
    expect((await fetch(`${url}/ready`)).status).toBe(503);
    expect(cli(['migrate', 'up'], env).stdout).toContain(`${ALL_VERSIONS.length - 2} migration(s) applied`);
    expect((await fetch(`${url}/ready`)).status).toBe(200);

    const creds = JSON.parse(fs.readFileSync(path.join(dataDir, 'postgres-credentials.json'), 'utf8'));
    const db = new pg.Client({
      host: '127.0.0.1',
      port: postmasterPidPort(dataDir),
      user: creds.user,
      password: creds.password,
      database: 'postgres',
    });
    await db.connect();
    await db.query(`INSERT INTO users (id, email, display_name) VALUES ('ada', 'ada@example.com', 'Ada')`);

    const refused = cli(['migrate', 'down', '--to', '0'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('public.users: 1 row(s)');
    expect((await db.query('SELECT count(*)::int AS n FROM users')).rows[0].n).toBe(1);

    const forced = cli(['migrate', 'down', '--to', '0', '--force'], env);
    expect(forced.code).toBe(0);
    const backup = /backup of the dropped data: (\S+)/.exec(forced.stdout)?.[1];
    expect(backup && fs.existsSync(path.join(backup, 'manifest.json'))).toBe(true);
    expect(backup!.startsWith(path.join(dataDir, 'backups'))).toBe(true);

    expect(cli(['migrate', 'up'], env).code).toBe(0);
    const restored = cli(['migrate', 'restore', backup!], env);
    expect(restored.stdout).toContain('restored 1 row(s) of public.users');
    expect((await db.query('SELECT email FROM users')).rows).toEqual([{ email: 'ada@example.com' }]);
    await db.end();
    s.child.kill('SIGTERM');
    expect(await exited(s.child)).toBe(0);
  });

  it('rejects bad configuration before starting anything, naming the variable', () => {
    const r = cli(['serve'], { ...env, PORT: 'eighty' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('PORT: "eighty" is not a whole number');
  });
});
