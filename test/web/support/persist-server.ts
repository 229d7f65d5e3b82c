/**
 * For the persistence tests: a real Recorder server that can be stopped and started again on the SAME
 * port, database and DATA_DIR (the client's upload URL names the port), a signed-up user, and the
 * Node-side stand-ins for what a browser does by itself (cookie and Origin on every request).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freePort } from '../../../src/server/db/embedded.ts';
import { signUp } from '../../support/app.ts';
import { freshDatabase } from '../../support/db.ts';
import type { PgTarget } from '../../support/global-setup.ts';

const exec = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../../..');

export interface RestartableServer {
  url: string;
  dbUrl: string;
  dataDir: string;
  readonly running: boolean;
  /** SIGTERM: drains and stops as an operator's restart does. */
  stop(): Promise<void>;
  /** SIGKILL: the server process dies mid-request, as in a crash or an OOM kill. */
  kill(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The real server as its own process (`bin/recorder.js serve`, what `npm start` runs) on a fresh
 * database of the test target, restartable on the same port, database and DATA_DIR.
 */
export async function restartableServer(
  target: PgTarget,
  env: Record<string, string> = {},
): Promise<RestartableServer> {
  const db = await freshDatabase(target);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-persist-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  async function start() {
    let stderr = '';
    const c = spawn(process.execPath, [path.join(ROOT, 'bin/recorder.js'), 'serve'], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        DATA_DIR: dataDir,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
        ...env,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    c.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    exited = new Promise((resolve) => c.once('exit', () => resolve()));
    child = c;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (c.exitCode !== null) throw new Error(`the server exited at start: ${stderr}`);
      if ((await fetch(`${url}/ready`).catch(() => undefined))?.status === 200) return;
      if (Date.now() > deadline) throw new Error(`the server did not become ready: ${stderr}`);
      await sleep(100);
    }
  }

  async function signal(sig: NodeJS.Signals) {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    c.kill(sig);
    await exited;
  }

  await start();
  return {
    url,
    dbUrl: db.url,
    dataDir,
    get running() {
      return child !== undefined;
    },
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
    start,
    async close() {
      await signal('SIGTERM');
      await db.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface TestUser {
  userId: string;
  headers: Record<string, string>;
  /** A fetch that adds the session cookie and Origin, as a browser page on the server's origin would. */
  fetchImpl: typeof fetch;
}

export async function testUser(url: string, name = 'rita'): Promise<TestUser> {
  const u = await signUp(url, name);
  const fetchImpl: typeof fetch = (input, init = {}) => {
    const h = new Headers(init.headers);
    for (const [k, v] of Object.entries(u.headers)) h.set(k, v);
    // Connection: close — an idle keep-alive socket would hold a stopping server open (see test/uploads.test.ts).
    h.set('connection', 'close');
    return fetch(input, { ...init, headers: h });
  };
  return { userId: u.userId, headers: u.headers, fetchImpl };
}

/**
 * A VP9+Opus WebM written as MediaRecorder writes it (live, to a pipe: no duration, no cues), with
 * noise so it does not compress to nothing: `seconds` long, a few hundred KB per second.
 */
export async function recorderStyleWebm(dir: string, seconds: number): Promise<string> {
  const out = path.join(dir, `take-${seconds}s.webm`);
  await exec('ffmpeg', ['-version']).catch(() => {
    throw new Error('ffmpeg is not installed; the persistence upload tests need it (apt-get install ffmpeg)');
  });
  await new Promise<void>((resolve, reject) => {
    const fd = fs.openSync(out, 'w');
    const args = [
      ...['-nostdin', '-hide_banner', '-loglevel', 'error', '-y'],
      ...[
        '-f',
        'lavfi',
        '-i',
        `testsrc2=size=320x240:rate=15:duration=${seconds}`,
        '-f',
        'lavfi',
        '-i',
        `sine=frequency=440:sample_rate=48000:duration=${seconds}`,
      ],
      ...[
        '-vf',
        'noise=alls=40:allf=t+u',
        '-c:v',
        'libvpx-vp9',
        '-deadline',
        'realtime',
        '-cpu-used',
        '8',
        '-b:v',
        '1M',
        '-pix_fmt',
        'yuv420p',
      ],
      ...['-c:a', 'libopus', '-b:a', '32k', '-f', 'webm', 'pipe:1'],
    ];
    const child = spawn('ffmpeg', args, { stdio: ['ignore', fd, 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      fs.closeSync(fd);
      code === 0 ? resolve() : reject(new Error(`ffmpeg failed: ${stderr}`));
    });
  });
  return out;
}

type Listener = (v: never) => void;

/**
 * Stands in for part C's Recorder in Node (MediaRecorder exists only in browsers): the same events,
 * fed with the bytes of a real WebM file cut into one slice per second of media.
 */
export class FileRecorder {
  readonly mimeType = 'video/webm;codecs=vp9,opus';
  private readonly listeners = new Map<string, Set<Listener>>();
  private seq = 0;
  private offset = 0;
  stopCalls = 0;

  constructor(
    readonly bytes: Uint8Array,
    readonly slices: number,
    readonly sliceMs = 1000,
  ) {}

  on(ev: 'chunk', cb: (v: { data: Blob; seq: number; elapsedMs: number }) => void): () => void;
  on(ev: 'stopped', cb: (v: { durationMs: number; mimeType: string; reason: unknown }) => void): () => void;
  on(ev: string, cb: (v: never) => void): () => void {
    const set = this.listeners.get(ev) ?? new Set<Listener>();
    this.listeners.set(ev, set);
    set.add(cb);
    return () => void set.delete(cb);
  }

  private emit(ev: string, v: unknown): void {
    for (const cb of this.listeners.get(ev) ?? []) (cb as (v: unknown) => void)(v);
  }

  get fed(): number {
    return this.offset;
  }

  /** Emits the next `n` one-second slices (as MediaRecorder's dataavailable would). */
  feed(n = 1): void {
    const size = Math.ceil(this.bytes.byteLength / this.slices);
    for (let i = 0; i < n && this.offset < this.bytes.byteLength; i++) {
      const part = this.bytes.slice(this.offset, Math.min(this.offset + size, this.bytes.byteLength));
      this.offset += part.byteLength;
      this.seq++;
      this.emit('chunk', { data: new Blob([part]), seq: this.seq, elapsedMs: this.seq * this.sliceMs });
    }
  }

  /** A slice whose bytes the browser cannot read (Blob.arrayBuffer rejects, as after a storage error). */
  feedUnreadable(): void {
    this.seq++;
    const data = new Blob([new Uint8Array(1)]);
    data.arrayBuffer = () =>
      Promise.reject(new DOMException('The requested file could not be read', 'NotReadableError'));
    this.emit('chunk', { data, seq: this.seq, elapsedMs: this.seq * this.sliceMs });
  }

  async stop(): Promise<{ durationMs: number }> {
    this.stopCalls++;
    const durationMs = this.seq * this.sliceMs;
    this.emit('stopped', { durationMs, mimeType: this.mimeType, reason: 'user' });
    return { durationMs };
  }
}

export { until } from './until.ts';
