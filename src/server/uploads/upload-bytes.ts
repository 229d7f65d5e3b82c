/**
 * The bytes of one write (a PATCH or a creation-with-upload POST) on their way into storage: read in
 * pieces no larger than asked, hashed as they are handed out (so a saved hash state always matches an
 * offset), and judged by the sniff once the upload holds enough of them.
 */
import type { Readable } from 'node:stream';
import { createSHA256, type IHasher } from 'hash-wasm';
import type { UploadHash } from './hash-worker.js';
import { SNIFF_BYTES, sniff } from '../media/sniff.js';

export class UnsupportedMediaError extends Error {
  constructor(readonly detected: string) {
    super(
      `This file type is not accepted (detected ${detected}); accepted: WebM/Matroska, MP4/QuickTime, Ogg, WAV, MP3`,
    );
    this.name = 'UnsupportedMediaError';
  }
}

/** SHA-256 in this thread from a saved state: for the digest at the end (the bytes went through the worker). */
export async function resumeHash(state: Uint8Array | null): Promise<IHasher> {
  const hasher = await createSHA256();
  if (state) hasher.load(state);
  else hasher.init();
  return hasher;
}

export interface SniffDecision {
  mime: string;
  ext: string;
}

/**
 * Hands out a request's bytes in pieces of at most `max` bytes. Each piece is hashed when handed out,
 * and the upload's first SNIFF_BYTES are judged before any of them is: a piece is only released once the
 * sniff decided (or the upload ends shorter than the window).
 */
export class UploadBytes {
  private readonly source: AsyncIterator<Buffer>;
  private buffered: Buffer = Buffer.alloc(0);
  private ended = false;
  /** Bytes handed out so far. */
  received = 0;
  decision: SniffDecision | undefined;

  constructor(
    source: Readable,
    private readonly hash: UploadHash,
    private readonly sniffer: { head: Buffer; decided: boolean; completesAt: number | undefined },
  ) {
    this.source = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /** Judges the sniff window now if this request can complete it (throws UnsupportedMediaError). */
  async decide(): Promise<void> {
    if (!this.sniffer.decided) await this.judge();
  }

  /** Up to `max` bytes; an empty buffer once the request is over. */
  async read(max: number): Promise<Buffer> {
    await this.decide();
    if (!this.buffered.length && !(await this.pull())) return Buffer.alloc(0);
    const piece = this.buffered.subarray(0, max);
    this.buffered = this.buffered.subarray(piece.length);
    await this.hash.update(piece);
    this.received += piece.length;
    return piece;
  }

  /** Reads until `size` bytes or the end; shorter only when the request ended. */
  async readFull(size: number): Promise<Buffer> {
    const pieces = await this.readPieces(size);
    return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
  }

  /** Like readFull, as the pieces they arrived in (no copy); none once the request is over. */
  async readPieces(size: number): Promise<Buffer[]> {
    const pieces: Buffer[] = [];
    let have = 0;
    while (have < size) {
      const piece = await this.read(size - have);
      if (!piece.length) break;
      pieces.push(piece);
      have += piece.length;
    }
    return pieces;
  }

  /** SHA-256 state after every byte handed out so far (null: hashed natively, no state). */
  hashState(): Promise<Uint8Array | null> {
    return this.hash.save();
  }

  /** The digest of the whole upload, when the bytes handed out so far complete it. */
  digest(): Promise<string> {
    return this.hash.digest();
  }

  private async pull(): Promise<boolean> {
    if (this.ended) return false;
    const next = await this.source.next();
    if (next.done) {
      this.ended = true;
      return false;
    }
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    return true;
  }

  /**
   * Gathers the sniff window from what earlier requests stored (head) and this one, then decides. A
   * window that this request cannot fill is decided only when the upload is complete with it: a short
   * first PATCH (a 1-byte recorder slice) is never judged on its own.
   */
  private async judge(): Promise<void> {
    const { head } = this.sniffer;
    while (head.length + this.buffered.length < SNIFF_BYTES && (await this.pull()));
    const window = Buffer.concat([head, this.buffered]).subarray(0, SNIFF_BYTES);
    const uploadEnds = this.sniffer.completesAt === head.length + this.buffered.length;
    if (window.length < SNIFF_BYTES && !uploadEnds) return;
    const kind = sniff(window);
    this.sniffer.decided = true;
    if (!kind.supported) throw new UnsupportedMediaError(kind.mime);
    this.decision = { mime: kind.mime, ext: kind.ext };
  }
}
