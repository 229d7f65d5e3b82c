/**
 * A process of its own for a server under benchmark: the real Recorder (`bin/recorder.js serve`) or any
 * other script run with tsx. Its memory is then its own (/proc/<pid>/status), and the load generator
 * in the benchmark process does not share its event loop. Output goes to a log file in `dir`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../../src/server/db/embedded.js';
import { sleep } from './stats.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');

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
  pid: number;
  logFile: string;
  mem(): ProcMem;
  /** Resets the kernel's peak RSS (VmHWM) to the current RSS; false where /proc does not allow it. */
  resetPeak(): boolean;
  /** SIGTERM (the server drains and stops), SIGKILL after 15 s. Idempotent. */
  stop(): Promise<void>;
}

export interface ChildServerOptions {
  /** Short name for the log file and messages. */
  name: string;
  /** Directory for the log file. */
  dir: string;
  /** Script and arguments after `node`; default: the Recorder server. */
  args?: string[];
  env: Record<string, string>;
  /** Path answering 200 once the server is ready. */
  readyPath?: string;
}

export async function startChildServer(opts: ChildServerOptions): Promise<ChildServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logFile = path.join(opts.dir, `${opts.name}.log`);
  const log = fs.openSync(logFile, 'a');
  const child: ChildProcess = spawn(process.execPath, opts.args ?? [path.join(ROOT, 'bin/recorder.js'), 'serve'], {
    cwd: ROOT,
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), ...opts.env },
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killed = await Promise.race([exited.then(() => false), sleep(15_000).then(() => true)]);
      if (killed) {
        child.kill('SIGKILL');
        await exited;
      }
    })());
  const tail = () => fs.readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n');
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${opts.name} exited during start-up:\n${tail()}`);
    const status = await fetch(`${url}${opts.readyPath ?? '/ready'}`)
      .then((r) => r.status)
      .catch(() => 0);
    if (status === 200) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${opts.name} was not ready after 120 s:\n${tail()}`);
    }
    await sleep(100);
  }
  const pid = child.pid!;
  return {
    url,
    pid,
    logFile,
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
  };
}

/** Samples a process's RSS every `everyMs` while `work` runs; returns the work's result and the peak seen. */
export async function withPeakRss<T>(
  server: ChildServer,
  work: () => Promise<T>,
  everyMs = 50,
): Promise<{ result: T; before: number; peak: number; hwmReset: boolean }> {
  const before = server.mem().rss;
  const hwmReset = server.resetPeak();
  let peak = before;
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, server.mem().rss);
    } catch {
      // the process is gone; the work will fail on its own
    }
  }, everyMs);
  try {
    const result = await work();
    const m = server.mem();
    peak = Math.max(peak, m.rss, hwmReset ? m.hwm : 0);
    return { result, before, peak, hwmReset };
  } finally {
    clearInterval(timer);
  }
}

/** A new account through the API, as anyone signs up: its id and the session cookies ("name=value") it was given. */
export async function signUpAccount(url: string, name: string): Promise<{ userId: string; cookies: string[] }> {
  const email = `${name}-${Date.now().toString(36)}@example.com`;
  const res = await fetch(`${url}/api/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: url },
    body: JSON.stringify({ email, password: 'correct horse battery staple', displayName: name }),
  });
  if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${await res.text()}`);
  const cookies = res.headers.getSetCookie().map((c) => c.split(';')[0]!);
  const { user } = (await res.json()) as { user: { id: string } };
  return { userId: user.id, cookies };
}

/** A new account on the server and a personal API token for it (Authorization headers). */
export async function apiUser(url: string, name: string): Promise<{ userId: string; headers: Record<string, string> }> {
  const { userId, cookies } = await signUpAccount(url, name);
  const cookie = cookies.join('; ');
  const tok = await fetch(`${url}/api/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: url, cookie },
    body: JSON.stringify({ name: 'benchmark' }),
  });
  if (tok.status !== 201) throw new Error(`token creation failed: ${tok.status} ${await tok.text()}`);
  const { token } = (await tok.json()) as { token: string };
  return { userId, headers: { authorization: `Bearer ${token}` } };
}
