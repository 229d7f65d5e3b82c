/**
 * The SHA-256 of uploads, computed on a worker thread. hash-wasm's SHA-256 (the one whose state can be
 * saved between requests and servers) runs at ~370 MiB/s: on the event loop it would take most of a core
 * away from the transfer. Here the request path only copies each piece to the worker; it waits for the
 * worker when it needs the state (at a commit), or when the worker falls more than BACKLOG bytes behind.
 *
 * One worker serves every upload of the process; messages to it are handled in order, so a `save` answers
 * with the state after exactly the pieces sent before it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** Bytes sent to the worker and not yet hashed, per upload, before update() waits. */
const BACKLOG = 4 * 1024 * 1024;

type Request =
  | { op: 'open'; id: string; state: Uint8Array | null }
  | { op: 'update'; id: string; bytes: Uint8Array }
  | { op: 'save'; id: string; seq: number }
  | { op: 'digest'; id: string; seq: number }
  | { op: 'close'; id: string };
type Reply =
  | { op: 'hashed'; id: string; size: number }
  | { op: 'saved'; id: string; seq: number; state: Uint8Array }
  | { op: 'digested'; id: string; seq: number; hex: string };

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createSHA256 } = require(${JSON.stringify(createRequire(import.meta.url).resolve('hash-wasm'))});
const hashers = new Map();
const ready = new Map();
parentPort.on('message', async (m) => {
  if (m.op === 'open') {
    ready.set(m.id, createSHA256().then((h) => { if (m.state) h.load(m.state); else h.init(); hashers.set(m.id, h); }));
    return;
  }
  await ready.get(m.id);
  const h = hashers.get(m.id);
  if (m.op === 'update') {
    h.update(m.bytes);
    parentPort.postMessage({ op: 'hashed', id: m.id, size: m.bytes.length });
  }
  else if (m.op === 'save') parentPort.postMessage({ op: 'saved', id: m.id, seq: m.seq, state: h.save() });
  else if (m.op === 'digest') parentPort.postMessage({ op: 'digested', id: m.id, seq: m.seq, hex: h.digest('hex') });
  else if (m.op === 'close') { hashers.delete(m.id); ready.delete(m.id); }
});
`;

export interface UploadHash {
  /** Hashes a piece (on the worker: resolves at once unless it is BACKLOG bytes behind). */
  update(bytes: Uint8Array): Promise<void>;
  /** The state after every piece so far, to resume from in a later request; null when it has none. */
  save(): Promise<Uint8Array | null>;
  /** The digest of every piece so far (hex); the hash is finished after it. */
  digest(): Promise<string>;
  close(): void;
}

/**
 * Node's own SHA-256 (OpenSSL, ~3× hash-wasm here) for a request that starts at the upload's first byte:
 * its state cannot be saved, so a later request of the same upload first rebuilds one from the stored
 * bytes (the local provider can read them back; see upload-store.ts).
 */
export function nativeUploadHash(): UploadHash {
  const hash = createHash('sha256');
  return {
    update: async (bytes) => void hash.update(bytes),
    save: async () => null,
    digest: async () => hash.digest('hex'),
    close: () => undefined,
  };
}

class HashJob implements UploadHash {
  backlog = 0;
  private seq = 0;
  readonly drained: (() => void)[] = [];
  readonly replies = new Map<number, { resolve: (value: Uint8Array | string) => void; reject: (err: Error) => void }>();

  constructor(
    readonly id: string,
    private readonly worker: HashWorker,
  ) {}

  async update(bytes: Uint8Array): Promise<void> {
    this.backlog += bytes.length;
    // A copy of just these bytes, moved (not cloned again) to the worker: a piece is often a view into a
    // larger network buffer, and cloning a view sends its whole buffer.
    const copy = new Uint8Array(bytes);
    this.worker.post({ op: 'update', id: this.id, bytes: copy }, [copy.buffer]);
    if (this.backlog > BACKLOG) await new Promise<void>((resolve) => this.drained.push(resolve));
  }

  save(): Promise<Uint8Array> {
    return this.ask('save') as Promise<Uint8Array>;
  }

  digest(): Promise<string> {
    return this.ask('digest') as Promise<string>;
  }

  private ask(op: 'save' | 'digest'): Promise<Uint8Array | string> {
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.replies.set(seq, { resolve, reject });
      this.worker.post({ op, id: this.id, seq });
    });
  }

  close(): void {
    this.worker.post({ op: 'close', id: this.id });
    this.worker.forget(this.id);
  }
}

class HashWorker {
  private worker: Worker | undefined;
  private readonly jobs = new Map<string, HashJob>();

  open(state: Uint8Array | null): UploadHash {
    const job = new HashJob(randomUUID(), this);
    this.jobs.set(job.id, job);
    this.post({ op: 'open', id: job.id, state });
    return job;
  }

  post(message: Request, transfer: ArrayBuffer[] = []): void {
    this.started().postMessage(message, transfer);
  }

  forget(id: string): void {
    this.jobs.delete(id);
    // No upload left: the worker must not keep the process alive (tests, CLI, shutdown).
    if (!this.jobs.size) this.worker?.unref();
  }

  private started(): Worker {
    if (!this.worker) {
      this.worker = new Worker(WORKER_SOURCE, { eval: true });
      this.worker.on('message', (reply: Reply) => this.receive(reply));
      this.worker.on('error', (err) => this.fail(err));
    }
    this.worker.ref();
    return this.worker;
  }

  /** The worker died: every waiting request fails (its write is not committed); the next one starts anew. */
  private fail(err: Error): void {
    this.worker = undefined;
    for (const job of this.jobs.values()) {
      for (const pending of job.replies.values()) pending.reject(err);
      job.replies.clear();
      for (const resolve of job.drained.splice(0)) resolve();
    }
    this.jobs.clear();
  }

  private receive(reply: Reply): void {
    const job = this.jobs.get(reply.id);
    if (!job) return;
    if (reply.op === 'saved' || reply.op === 'digested') {
      job.replies.get(reply.seq)?.resolve(reply.op === 'saved' ? reply.state : reply.hex);
      job.replies.delete(reply.seq);
      return;
    }
    job.backlog -= reply.size;
    if (job.backlog <= BACKLOG) for (const resolve of job.drained.splice(0)) resolve();
  }
}

const shared = new HashWorker();

/** A hash of an upload's bytes continuing from a saved state (null: from the first byte). */
export function openUploadHash(state: Uint8Array | null): UploadHash {
  return shared.open(state);
}
