/**
 * The bytes of one take as a growing stream the live upload reads from: the newest slices in memory,
 * everything ever stored in IndexedDB. It is the `fileReader` tus-js-client reads through.
 *
 * Invariant: a byte leaves memory only once it is BOTH acknowledged by the server AND in IndexedDB, or
 * (memory cap) once it is in IndexedDB. So whatever offset a server reports after a restart (never
 * more than it acknowledged), every byte from there on can still be served.
 */
import type { TakeStore } from './take-store.ts';

/** What tus-js-client sends as a PATCH body: bytes with `size` (its Node HTTP stack and its length logic read it). */
export type SliceBytes = Uint8Array & { size: number };

interface Piece {
  offset: number;
  bytes: Uint8Array;
}

const MEMORY_CAP = 32 * 1024 * 1024;

function sized(b: Uint8Array): SliceBytes {
  const s = b as SliceBytes;
  s.size = b.byteLength;
  return s;
}

export class TakeSource {
  private pieces: Piece[] = [];
  /** Total bytes of the take handed to us so far. */
  private total = 0;
  /** Bytes known to be in IndexedDB (everything below is readable from the store). */
  private durable = 0;
  private acked = 0;
  private finalized = false;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly store: TakeStore | undefined,
    private readonly takeId: string,
    /** Bytes already stored before this source existed (recovery): served from IndexedDB. */
    stored = 0,
  ) {
    this.total = stored;
    this.durable = stored;
  }

  get size(): number {
    return this.total;
  }

  get isFinal(): boolean {
    return this.finalized;
  }

  /** A new slice of the take; `durable` says whether it is already in IndexedDB. */
  push(bytes: Uint8Array, durable: boolean): void {
    if (this.finalized) throw new Error('The take was finalized; no more bytes can be added');
    if (bytes.byteLength === 0) return;
    this.pieces.push({ offset: this.total, bytes });
    this.total += bytes.byteLength;
    if (durable && this.durable === this.total - bytes.byteLength) this.durable = this.total;
    this.trim();
    this.wake();
  }

  /** No more bytes: slices reaching the end now say `done`, and tus-js-client declares Upload-Length. */
  finalize(): void {
    this.finalized = true;
    this.wake();
  }

  /** The server acknowledged everything below `offset`. */
  ack(offset: number): void {
    this.acked = Math.max(this.acked, offset);
    this.trim();
  }

  private trim(): void {
    let inMemory = this.pieces.reduce((n, p) => n + p.bytes.byteLength, 0);
    while (this.pieces.length) {
      const p = this.pieces[0]!;
      const end = p.offset + p.bytes.byteLength;
      if (end > this.durable) break;
      if (end > this.acked && inMemory <= MEMORY_CAP) break;
      this.pieces.shift();
      inMemory -= p.bytes.byteLength;
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves when there are bytes beyond `start` or the take is final; rejects when `signal` says stop. */
  private wait(start: number, alive: () => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!alive()) return reject(new Error('upload stopped'));
        if (this.total > start || this.finalized) return resolve();
        this.waiters.push(check);
      };
      check();
    });
  }

  /** Bytes [start, end) cut at what exists; from memory where held, else from IndexedDB. */
  async read(start: number, end: number): Promise<Uint8Array> {
    end = Math.min(end, this.total);
    if (end <= start) return new Uint8Array(0);
    const first = this.pieces[0];
    if (first && first.offset <= start) {
      const out = new Uint8Array(end - start);
      for (const p of this.pieces) {
        const a = Math.max(start, p.offset);
        const b = Math.min(end, p.offset + p.bytes.byteLength);
        if (b > a) out.set(p.bytes.subarray(a - p.offset, b - p.offset), a - start);
      }
      return out;
    }
    if (!this.store) throw new Error(`Bytes from ${start} are no longer held and there is no local store`);
    const memStart = first ? first.offset : this.total;
    const fromStore = await this.store.range(this.takeId, start, Math.min(end, memStart));
    if (fromStore.byteLength !== Math.min(end, memStart) - start) {
      throw new Error(`The browser's copy of the take is missing bytes ${start}..${Math.min(end, memStart)}`);
    }
    if (end <= memStart) return fromStore;
    const rest = await this.read(memStart, end);
    const out = new Uint8Array(end - start);
    out.set(fromStore, 0);
    out.set(rest, fromStore.byteLength);
    return out;
  }

  /**
   * A tus-js-client FileReader over this source. Each Upload gets its own reader so an aborted Upload's
   * pending slice rejects (and never sends a stray PATCH) while the next Upload reads on.
   */
  reader(): { reader: { openFile(): Promise<unknown> }; close(): void } {
    let open = true;
    const alive = () => open;
    const src = {
      size: null as number | null,
      slice: async (start: number, end: number) => {
        await this.wait(start, alive);
        const bytes = await this.read(start, end);
        if (!open) throw new Error('upload stopped');
        const done = this.finalized && start + bytes.byteLength >= this.total;
        return { value: sized(bytes), done };
      },
      close: () => undefined,
    };
    return {
      reader: { openFile: async () => src },
      close: () => {
        open = false;
        this.wake();
      },
    };
  }
}
