/**
 * Several real Recorder server processes (`bin/recorder.js serve`, what `npm start` runs) behind no
 * load balancer: each on its own loopback port, all on ONE PostgreSQL database and one storage (a
 * shared DATA_DIR for the local provider; one s3rver bucket for s3), as docs/scaling.md describes.
 * Tests and benches route requests themselves, crash a server with kill9(i) and bring it back with
 * restart(i) on the same port.
 *
 * No vitest imports here: bench/upload.bench.ts runs the same cluster. Every wait is on an event (a
 * process exit, /ready answering 200), never a fixed sleep. Server 0 starts first, then the others
 * together (see startCluster).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as tus from 'tus-js-client';
import { type ChildServer, startChildServer } from '../../bench/lib/child-server.js';
import { type S3Info, s3Env } from '../../bench/lib/s3rver-process.js';
import { withSend } from '../../bench/lib/tus-client.js';
import { startS3rver } from './s3rver.js';

export interface ClusterOptions {
  /** A fresh, empty database they all share; the servers apply the migrations as they start. */
  databaseUrl: string;
  /** How many app servers (default 2). */
  size?: number;
  provider: 'local' | 's3';
  /** The s3rver to store into (provider s3); default: one started here, stopped by close(). */
  s3?: S3Info;
  /**
   * One DATA_DIR for all servers (default: true for local, whose media live in it, as on an NFS mount;
   * false for s3, so that nothing a server keeps on its own disk can carry an upload to another).
   */
  sharedDataDir?: boolean;
  /** Extra env for every server; JOBS_ENABLED is on unless set here. */
  env?: Record<string, string>;
  /** Start every server at the same moment, as an orchestrator would (default: server 0 first). */
  startTogether?: boolean;
}

export interface Cluster {
  readonly size: number;
  readonly databaseUrl: string;
  readonly s3: S3Info | undefined;
  /** Where the logs (server-<i>.log) and DATA_DIRs are. */
  readonly workDir: string;
  url(i: number): string;
  /** The process now serving url(i); a restart changes it. */
  pid(i: number): number;
  /** Serving requests: started and not killed since. */
  isUp(i: number): boolean;
  /** Server i's process, for its memory (/proc) and log. */
  process(i: number): ChildServer;
  dataDir(i: number): string;
  /** SIGKILL: server i dies at once, mid-request, no clean-up. Resolves once the process is gone. */
  kill9(i: number): Promise<void>;
  /** Stops server i (gracefully, if it still runs) and starts it again on its port; resolves when /ready is 200. */
  restart(i: number): Promise<void>;
  /** Stops every server (and the s3rver it started) and deletes the work directory. Idempotent. */
  close(): Promise<void>;
}

type S3Handle = { info: S3Info; stop(): Promise<void> };
type StartServer = (i: number, port?: number) => Promise<ChildServer>;

async function startS3(opts: ClusterOptions): Promise<S3Handle | undefined> {
  if (opts.provider !== 's3') return undefined;
  if (opts.s3) return { info: opts.s3, stop: async () => undefined };
  const { stop, ...info } = await startS3rver('recorder-cluster');
  return { info, stop };
}

/** Starts all, in parallel; if one fails, the others are stopped and the first error is thrown. */
async function startAll(starts: Promise<ChildServer>[]): Promise<ChildServer[]> {
  const settled = await Promise.allSettled(starts);
  const failed = settled.find((s) => s.status === 'rejected');
  if (!failed) return settled.map((s) => (s as PromiseFulfilledResult<ChildServer>).value);
  await Promise.all(settled.map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
  throw failed.reason;
}

class ServerCluster implements Cluster {
  readonly servers: ChildServer[] = [];
  private readonly down = new Set<number>();
  private closing: Promise<void> | undefined;

  constructor(
    readonly size: number,
    readonly databaseUrl: string,
    readonly workDir: string,
    private readonly dataDirs: string[],
    private readonly s3Handle: S3Handle | undefined,
    private readonly start: StartServer,
  ) {}

  get s3(): S3Info | undefined {
    return this.s3Handle?.info;
  }

  process(i: number): ChildServer {
    const s = this.servers[i];
    if (!s) throw new RangeError(`no server ${i} in a cluster of ${this.size}`);
    return s;
  }

  url = (i: number) => this.process(i).url;
  pid = (i: number) => this.process(i).pid;
  isUp = (i: number) => !this.down.has(i) && this.process(i).alive();

  dataDir(i: number): string {
    this.process(i);
    return this.dataDirs[i]!;
  }

  async kill9(i: number): Promise<void> {
    this.down.add(i);
    await this.process(i).kill9();
  }

  async restart(i: number): Promise<void> {
    const old = this.process(i);
    this.down.add(i);
    await old.stop();
    this.servers[i] = await this.start(i, old.port);
    this.down.delete(i);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all(this.servers.map((s) => s.stop()));
      await this.s3Handle?.stop();
      fs.rmSync(this.workDir, { recursive: true, force: true });
    })();
    return this.closing;
  }
}

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const size = opts.size ?? 2;
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-cluster-'));
  const shared = opts.sharedDataDir ?? opts.provider === 'local';
  const dataDirs = Array.from({ length: size }, (_, i) => path.join(workDir, shared ? 'data' : `data-${i}`));
  for (const dir of dataDirs) fs.mkdirSync(dir, { recursive: true });
  let cluster: ServerCluster | undefined;
  try {
    const s3 = await startS3(opts);
    const env = (i: number) => ({
      DATABASE_URL: opts.databaseUrl,
      DATA_DIR: dataDirs[i]!,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
      JOBS_ENABLED: 'true',
      ...(s3 ? s3Env(s3.info) : { STORAGE_PROVIDER: 'local' }),
      ...opts.env,
    });
    const start: StartServer = (i, port) => startChildServer({ name: `server-${i}`, dir: workDir, port, env: env(i) });
    cluster = new ServerCluster(size, opts.databaseUrl, workDir, dataDirs, s3, start);
    if (opts.startTogether) {
      cluster.servers.push(...(await startAll(dataDirs.map((_, i) => start(i)))));
    } else {
      // Server 0 alone first, as docs/scaling.md advises for a fresh database: it applies the migrations.
      cluster.servers.push(await start(0));
      cluster.servers.push(...(await startAll(dataDirs.slice(1).map((_, i) => start(i + 1)))));
    }
    return cluster;
  } catch (err) {
    await cluster?.close();
    fs.rmSync(workDir, { recursive: true, force: true });
    throw err;
  }
}

export interface MediaFile {
  file: string;
  size: number;
  sha256: string;
}

/**
 * A real WebM (VP8 + Opus, with duration and cues, so processing keeps its bytes as they are) of about
 * 6 MB per second: noise on ffmpeg's test picture at a near-lossless quantizer, so it does not compress.
 */
export async function makeLargeWebm(dir: string, seconds: number): Promise<MediaFile> {
  const file = path.join(dir, `noise-${seconds}s.webm`);
  const video = `testsrc2=size=640x360:rate=30:duration=${seconds},noise=alls=60:allf=t`;
  const tone = `sine=frequency=440:sample_rate=48000:duration=${seconds}`;
  const codecs = ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '16', '-qmin', '0', '-qmax', '8'];
  const args = ['-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', video, '-f', 'lavfi', '-i', tone];
  try {
    await promisify(execFile)('ffmpeg', [...args, ...codecs, '-b:v', '40M', '-c:a', 'libopus', '-b:a', '32k', file]);
  } catch (err) {
    throw new Error(`ffmpeg could not make the test WebM (apt-get install ffmpeg): ${(err as Error).message}`);
  }
  const bytes = fs.readFileSync(file);
  return { file, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** What one request routed by RoundRobinStack got: its status, or none when the connection failed. */
export interface RoutedOutcome {
  method: string;
  server: number;
  status: number | 'network error';
}

export interface RoundRobinOptions {
  /** May replace a request's body (a stream with `size`) before it is sent to `server`. */
  body?: (method: string, server: number, body: unknown) => unknown;
}

/**
 * tus-js-client's HTTP stack behind a load balancer without sticky sessions, in the client: a POST
 * goes to server 0, every other request to the next server in turn that is up (a health-checking
 * balancer skips a dead one). Every request's outcome is kept in `outcomes`, in order (tus-js-client
 * sends one request at a time).
 */
export class RoundRobinStack implements tus.HttpStack {
  readonly outcomes: RoutedOutcome[] = [];
  private readonly inner = new tus.DefaultHttpStack({});
  private last = 0;

  constructor(
    private readonly cluster: Cluster,
    private readonly opts: RoundRobinOptions = {},
  ) {}

  getName(): string {
    return 'RoundRobinStack';
  }

  createRequest(method: string, url: string): tus.HttpRequest {
    const server = method === 'POST' ? 0 : this.pick();
    const target = new URL(url);
    target.host = new URL(this.cluster.url(server)).host;
    return this.routed(this.inner.createRequest(method, target.toString()), server);
  }

  private pick(): number {
    for (let step = 1; step <= this.cluster.size; step++) {
      const i = (this.last + step) % this.cluster.size;
      if (!this.cluster.isUp(i)) continue;
      this.last = i;
      return i;
    }
    throw new Error('no server is up');
  }

  private routed(req: tus.HttpRequest, server: number): tus.HttpRequest {
    const method = req.getMethod();
    const replaceBody = this.opts.body;
    return withSend(req, async (body) => {
      try {
        const res = await req.send(replaceBody ? replaceBody(method, server, body) : body);
        this.outcomes.push({ method, server, status: res.getStatus() });
        return res;
      } catch (err) {
        this.outcomes.push({ method, server, status: 'network error' });
        throw err;
      }
    });
  }
}
