/**
 * A process of its own for a server under benchmark or test: the real Recorder (`bin/recorder.js serve`,
 * what `npm start` runs) or any other script run with tsx. Its memory is then its own
 * (/proc/<pid>/status), and the load generator does not share its event loop. Output goes to a log file
 * in `dir` (appended to, so a restarted server's log continues the old one).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../../src/server/db/embedded.js';
import { sleep } from './stats.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');

/** How long a server may take from spawn to ready (a stale web build is rebuilt first: seconds). */
const START_TIMEOUT_MS = 120_000;
/** Between two /ready probes while the process starts. */
const READY_POLL_MS = 50;

export interface ProcMem {
  /** Resident set size now, bytes. */
  rss: number;
  /** Peak resident set size since start or the last resetPeak(), bytes. */
  hwm: number;
}

export function procMem(pid: number): ProcMem {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

export interface ChildServer {
  url: string;
  port: number;
  pid: number;
  logFile: string;
  /** Resolves when the process has exited, however it ended. */
  exited: Promise<void>;
  alive(): boolean;
  mem(): ProcMem;
  /** Resets the kernel's peak RSS (VmHWM) to the current RSS; false where /proc does not allow it. */
  resetPeak(): boolean;
  /** SIGTERM (the server drains and stops), SIGKILL after 15 s. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL: the process ends at once, mid-request, with no clean-up (a crash). Resolves once it is gone. */
  kill9(): Promise<void>;
}

export interface ChildServerOptions {
  /** Short name for the log file and messages. */
  name: string;
  /** Directory for the log file. */
  dir: string;
  /** Script and arguments after `node`; default: the Recorder server. */
  args?: string[];
  env: Record<string, string>;
  /** Loopback port to listen on (a restart reuses its port); default: a free one. */
  port?: number;
  /** Path answering 200 once the server is ready. */
  readyPath?: string;
}

function tailOf(logFile: string): string {
  return fs.readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n');
}

/** Resolves once `url` answers 200; rejects when the process exits first or the start times out. */
async function untilReady(url: string, exited: Promise<void>, what: string, logFile: string): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const status = await fetch(url).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    if (gone) throw new Error(`${what} exited during start-up:\n${tailOf(logFile)}`);
    if (Date.now() > deadline)
      throw new Error(`${what} was not ready after ${START_TIMEOUT_MS / 1000} s:\n${tailOf(logFile)}`);
    await Promise.race([sleep(READY_POLL_MS), exited]);
  }
}

function spawnServer(opts: ChildServerOptions, port: number, logFile: string): ChildProcess {
  const log = fs.openSync(logFile, 'a');
  try {
    return spawn(process.execPath, opts.args ?? [path.join(ROOT, 'bin/recorder.js'), 'serve'], {
      cwd: ROOT,
      env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), ...opts.env },
      stdio: ['ignore', log, log],
    });
  } finally {
    fs.closeSync(log);
  }
}

export async function startChildServer(opts: ChildServerOptions): Promise<ChildServer> {
  const port = opts.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const logFile = path.join(opts.dir, `${opts.name}.log`);
  const child = spawnServer(opts, port, logFile);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (!alive()) return;
      child.kill('SIGTERM');
      const killed = await Promise.race([exited.then(() => false), sleep(15_000).then(() => true)]);
      if (killed) {
        child.kill('SIGKILL');
        await exited;
      }
    })());
  try {
    await untilReady(`${url}${opts.readyPath ?? '/ready'}`, exited, opts.name, logFile);
  } catch (err) {
    await stop();
    throw err;
  }
  const pid = child.pid!;
  return {
    url,
    port,
    pid,
    logFile,
    exited,
    alive,
    mem: () => procMem(pid),
    resetPeak() {
      try {
        fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
        return true;
      } catch {
        return false;
      }
    },
    stop,
    async kill9() {
      if (alive()) child.kill('SIGKILL');
      await exited;
    },
  };
}

export interface RssGrowth {
  /** RSS when the work started, bytes. */
  before: number;
  /** Highest RSS while it ran: the kernel's VmHWM when it could be reset, else the highest sample. */
  peak: number;
  growth: number;
  peakFromKernel: boolean;
}

/**
 * Each server's RSS growth while `work` runs: VmHWM is reset before (where /proc allows it) and read
 * after; samples every `everyMs` stand in where it cannot be reset.
 */
export async function peakRssDuring<T>(
  servers: ChildServer[],
  work: () => Promise<T>,
  everyMs = 50,
): Promise<{ result: T; rss: RssGrowth[] }> {
  const before = servers.map((s) => s.mem().rss);
  const fromKernel = servers.map((s) => s.resetPeak());
  const peak = [...before];
  const sample = () =>
    servers.forEach((s, i) => {
      try {
        const m = s.mem();
        peak[i] = Math.max(peak[i]!, m.rss, fromKernel[i] ? m.hwm : 0);
      } catch {
        // the process is gone; the work will fail on its own
      }
    });
  const timer = setInterval(sample, everyMs);
  try {
    const result = await work();
    sample();
    const rss = servers.map((_, i) => ({
      before: before[i]!,
      peak: peak[i]!,
      growth: peak[i]! - before[i]!,
      peakFromKernel: fromKernel[i]!,
    }));
    return { result, rss };
  } finally {
    clearInterval(timer);
  }
}

/** What bench accounts sign up with: sign-up refuses guessable passwords (test/support/app.ts TEST_PASSWORD). */
const BENCH_PASSWORD = 'violet-kettle-orbit-27';

/** A new account through the API, as anyone signs up: its id and the session cookies ("name=value") it was given. */
export async function signUpAccount(url: string, name: string): Promise<{ userId: string; cookies: string[] }> {
  const email = `${name}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  const res = await fetch(`${url}/api/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: url },
    body: JSON.stringify({ email, password: BENCH_PASSWORD, displayName: name }),
  });
  if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${await res.text()}`);
  const cookies = res.headers.getSetCookie().map((c) => c.split(';')[0]!);
  const { user } = (await res.json()) as { user: { id: string } };
  return { userId: user.id, cookies };
}

/** A new account on the server and a personal API token for it (Authorization headers). */
export async function apiUser(url: string, name: string): Promise<{ userId: string; headers: Record<string, string> }> {
  const { userId, cookies } = await signUpAccount(url, name);
  const tok = await fetch(`${url}/api/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: url, cookie: cookies.join('; ') },
    body: JSON.stringify({ name: 'benchmark' }),
  });
  if (tok.status !== 201) throw new Error(`token creation failed: ${tok.status} ${await tok.text()}`);
  const { token } = (await tok.json()) as { token: string };
  return { userId, headers: { authorization: `Bearer ${token}` } };
}
