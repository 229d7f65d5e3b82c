/**
 * Reads a legacy export file (the old app's "Export": a JSON array of savedRecordings entries) of any size
 * in flat memory, for `recorder import legacy`. The file is tokenized by stream-json; a media field's data:
 * URL never exists as a string here: its characters go through a base64 decoder straight into a temp file,
 * hashed on the way. Every other value of an entry is small and assembled; each entry then goes through
 * the same normalizeLegacyEntry as in the browser, with the data URL stood in for by a placeholder that
 * says what the decoding found (bytes, none, corrupt).
 *
 * Entries are yielded one at a time; the temp file of an entry is deleted when the next one is asked for
 * (or the loop ends): the consumer imports it in between.
 */
import { createHash, type Hash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { none } from 'stream-chain/defs.js';
import { jsonParser, type Token } from 'stream-json/core/parser.js';
import { dataUrlHeader, type LegacyEntry, MEDIA_FIELDS, normalizeLegacyEntry } from '../../shared/legacy-format.js';

export interface StreamedMedia {
  field: string;
  path: string;
  size: number;
  sha256: string;
}

export interface StreamedEntry {
  entry: LegacyEntry;
  /** The decoded bytes of the entry's data: URL media (the field normalizeLegacyEntry chose), if any. */
  media: StreamedMedia | null;
}

export interface ReadOptions {
  /** Where the decoded media files go (DATA_DIR/tmp: same disk as local storage, so a put can be cheap). */
  tmpDir: string;
  /** Characters of the file read so far, as bytes of UTF-8 read (for a progress bar). */
  onProgress?: (bytesRead: number) => void;
}

/** How the file ended: whole, cut short (its tail is not JSON), or not a JSON array at all. */
export interface ExportEnd {
  state: 'complete' | 'truncated' | 'unreadable';
  message: string | null;
  /** Entries read (complete ones). */
  count: number;
}

/** Any other string longer than this (a thumbnail is at most ~2.8 MB of base64) is dropped, not held. */
const STRING_MAX = 3 * 1024 * 1024;
/** Data URL headers are short; this much is held before the header must have shown itself. */
const HEADER_MAX = 512;
/**
 * Sizes of the file's pieces read, of the base64 decoded at once, of the blocks written. Small on purpose:
 * strings under V8's large-object size die young and cheaply; 1 MiB pieces pile up until a full collection
 * (measured: +110 MiB peak memory over a 500 MB export, against +37 MiB with these).
 */
const READ_BLOCK = 64 * 1024;
const DECODE_BATCH = 64 * 1024;
const WRITE_BLOCK = 256 * 1024;

const BASE64_CHARS = /^[A-Za-z0-9+/_-]*$/;

/** Strict base64 of a long string arriving in pieces, decoded by Node's (fast) decoder 4 characters at a time. */
class ChunkedBase64 {
  private carry = '';
  private padding = 0;
  private dataChars = 0;
  error: string | null = null;

  /** The bytes decodable so far, or null once the text proved not to be base64. */
  push(piece: string): Buffer | null {
    if (this.error) return null;
    // One scan in the common case (plain base64, no padding yet): the slower checks only when it fails.
    let text = piece;
    if (this.padding > 0 || !BASE64_CHARS.test(text)) {
      text = text.replace(/\s+/g, '');
      if (this.padding > 0 && text !== '' && !/^=+$/.test(text)) return this.fail('data after padding');
      const pad = text.indexOf('=');
      if (pad >= 0) {
        if (!/^=+$/.test(text.slice(pad))) return this.fail('data after padding');
        this.padding += text.length - pad;
        text = text.slice(0, pad);
      }
      if (!BASE64_CHARS.test(text)) return this.fail('not base64');
    }
    this.dataChars += text.length;
    const all = this.carry + text;
    const whole = all.length - (all.length % 4);
    this.carry = all.slice(whole);
    return Buffer.from(all.slice(0, whole), 'base64');
  }

  end(): Buffer | null {
    if (this.error) return null;
    const rest = this.dataChars % 4;
    if (rest === 1) return this.fail('truncated: one character left over');
    if (this.padding > 0 && (this.padding > 2 || rest + this.padding !== 4)) return this.fail('wrong padding');
    return Buffer.from(this.carry, 'base64');
  }

  private fail(why: string): null {
    this.error = why;
    return null;
  }
}

/** One media field's data URL on its way into a temp file. */
class MediaSink {
  private head = '';
  private decoder: ChunkedBase64 | null = null;
  private header = '';
  private hash: Hash = createHash('sha256');
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private handle: FileHandle | null = null;
  private batch: string[] = [];
  private batchChars = 0;
  size = 0;
  /** Not a data URL after all: the (short) text, kept as it is. */
  text: string | null = null;
  readonly path: string;

  constructor(
    readonly field: string,
    tmpDir: string,
  ) {
    this.path = path.join(tmpDir, `legacy-${randomUUID()}.bin`);
  }

  async push(piece: string): Promise<void> {
    if (this.text !== null) {
      if (this.text.length < STRING_MAX) this.text += piece;
      return;
    }
    if (!this.decoder) {
      this.head += piece;
      const found = dataUrlHeader(this.head);
      if (!found) {
        const scheme = this.head.slice(0, 5).toLowerCase();
        if (this.head.length >= HEADER_MAX || !'data:'.startsWith(scheme)) {
          this.text = this.head;
          this.head = '';
        }
        return;
      }
      this.header = this.head.slice(0, found.payloadStart);
      this.decoder = new ChunkedBase64();
      piece = this.head.slice(found.payloadStart);
      this.head = '';
    }
    // The tokenizer hands strings over in pieces of 256 characters: decoded a batch at a time, not each.
    this.batch.push(piece);
    this.batchChars += piece.length;
    if (this.batchChars >= DECODE_BATCH) await this.decodeBatch();
  }

  private async decodeBatch(): Promise<void> {
    const text = this.batch.join('');
    this.batch = [];
    this.batchChars = 0;
    const bytes = this.decoder!.push(text);
    if (bytes?.length) await this.write(bytes);
  }

  /** The string the entry holds in place of the data URL: what normalizeLegacyEntry must conclude. */
  async end(): Promise<string> {
    if (this.text !== null || !this.decoder) return this.text ?? this.head;
    await this.decodeBatch();
    const tail = this.decoder.end();
    if (tail?.length) await this.write(tail);
    await this.flush();
    await this.handle?.close();
    this.handle = null;
    if (this.decoder.error) return `${this.header}*`; // corrupt base64 → CORRUPT_DATA
    return this.size === 0 ? this.header : `${this.header}AAAA`;
  }

  media(): StreamedMedia {
    return { field: this.field, path: this.path, size: this.size, sha256: this.hash.digest('hex') };
  }

  async discard(): Promise<void> {
    await this.handle?.close().catch(() => undefined);
    this.handle = null;
    await rm(this.path, { force: true });
  }

  private async write(bytes: Buffer): Promise<void> {
    this.hash.update(bytes);
    this.size += bytes.length;
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes >= WRITE_BLOCK) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    this.handle ??= await open(this.path, 'w');
    const block = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    await this.handle.write(block);
  }
}

type Slot = { kind: 'media'; sink: MediaSink } | { kind: 'string'; value: string; over: boolean };

/**
 * Reads the export; yields each entry once it is complete. The generator's return value says how the file
 * ended (a cut-short file yields its complete entries, then ends 'truncated').
 */
export async function* readLegacyExport(file: string, opts: ReadOptions): AsyncGenerator<StreamedEntry, ExportEnd> {
  await mkdir(opts.tmpDir, { recursive: true });
  const tokenize = jsonParser({ packKeys: true, packStrings: false, packNumbers: true, streamNumbers: false });
  const input = createReadStream(file, { encoding: 'utf8', highWaterMark: READ_BLOCK });
  let bytesRead = 0;
  let count = 0;
  /** Nesting: 0 outside the array, 1 inside it, 2 inside an entry object. */
  let depth = 0;
  /** Inside a value whose contents are not looked at (an array entry, an entry's nested value): its nesting. */
  let skipping = 0;
  /** The entry being assembled (depth ≥ 2), or a non-object element's value. */
  let fields: Record<string, unknown> | null = null;
  let key: string | null = null;
  let slot: Slot | null = null;
  const sinks = new Map<string, MediaSink>();
  let yielded: MediaSink[] = [];
  const discardAll = async (list: Iterable<MediaSink>) => {
    for (const sink of list) await sink.discard();
  };
  const element = (value: unknown) => normalizeLegacyEntry(value, count++);

  const onToken = async (token: Token): Promise<StreamedEntry | null> => {
    if (skipping > 0) {
      if (token.name === 'startObject' || token.name === 'startArray') skipping++;
      else if (token.name === 'endObject' || token.name === 'endArray') skipping--;
      // An array entry ends: it is reported (NOT_AN_OBJECT) like any other element.
      return skipping === 0 && depth === 1 ? { entry: element([]), media: null } : null;
    }
    if (depth === 0) {
      if (token.name !== 'startArray') throw new ExportShapeError('The file is not a JSON array of recordings.');
      depth = 1;
      return null;
    }
    if (depth === 1) {
      switch (token.name) {
        case 'startObject':
          fields = {};
          depth = 2;
          return null;
        case 'endArray':
          depth = 0;
          return null;
        case 'startArray':
          skipping = 1;
          return null;
        case 'startString':
          slot = { kind: 'string', value: '', over: false };
          return null;
        case 'stringChunk':
          appendString(slot, token.value);
          return null;
        case 'endString':
          return { entry: element(stringOf(slot)), media: null };
        case 'numberValue':
          return { entry: element(Number(token.value)), media: null };
        default:
          return 'value' in token ? { entry: element(token.value), media: null } : null;
      }
    }
    const entry = fields as Record<string, unknown>;
    switch (token.name) {
      case 'keyValue':
        key = token.value;
        return null;
      case 'startString':
        if (key !== null && (MEDIA_FIELDS as readonly string[]).includes(key)) {
          await sinks.get(key)?.discard();
          const sink = new MediaSink(key, opts.tmpDir);
          sinks.set(key, sink);
          slot = { kind: 'media', sink };
        } else slot = { kind: 'string', value: '', over: false };
        return null;
      case 'stringChunk':
        if (slot?.kind === 'media') await slot.sink.push(token.value);
        else appendString(slot, token.value);
        return null;
      case 'endString':
        if (key !== null) entry[key] = slot?.kind === 'media' ? await slot.sink.end() : stringOf(slot);
        slot = null;
        return null;
      case 'numberValue':
        if (key !== null) entry[key] = Number(token.value);
        return null;
      case 'startObject':
      case 'startArray':
        // A nested value: only its kind matters (a Blob that JSON turned into {}).
        if (key !== null) entry[key] = token.name === 'startObject' ? {} : [];
        skipping = 1;
        return null;
      case 'endObject':
        return finishEntry();
      default:
        if (key !== null && 'value' in token) entry[key] = token.value;
        return null;
    }
  };

  const finishEntry = async (): Promise<StreamedEntry> => {
    const entry = element(fields);
    fields = null;
    key = null;
    depth = 1;
    const chosen = entry.ok && entry.item.media.kind === 'data-url' ? sinks.get(entry.item.media.field) : undefined;
    const others = [...sinks.values()].filter((sink) => sink !== chosen);
    sinks.clear();
    await discardAll(others);
    yielded = chosen ? [chosen] : [];
    return { entry, media: chosen ? chosen.media() : null };
  };

  let end: ExportEnd = { state: 'complete', message: null, count: 0 };
  try {
    const feed = async function* (pieces: AsyncIterable<string | typeof none>) {
      for await (const piece of pieces) {
        let tokens: Token[];
        try {
          const out = tokenize(piece as string);
          tokens = out === none ? [] : out.values;
        } catch (err) {
          throw new ExportShapeError((err as Error).message);
        }
        for (const token of tokens) {
          const ready = await onToken(token);
          if (ready) yield ready;
        }
      }
    };
    async function* pieces() {
      for await (const text of input as AsyncIterable<string>) {
        bytesRead += Buffer.byteLength(text);
        opts.onProgress?.(bytesRead);
        yield text;
      }
      yield none;
    }
    for await (const ready of feed(pieces())) {
      yield ready;
      await discardAll(yielded);
      yielded = [];
    }
  } catch (err) {
    if (!(err instanceof ExportShapeError)) throw err;
    end =
      count === 0 && depth === 0
        ? { state: 'unreadable', message: err.message, count }
        : { state: 'truncated', message: err.message, count };
  } finally {
    input.destroy();
    await discardAll([...yielded, ...sinks.values()]);
  }
  if (end.state === 'complete' && depth !== 0) {
    end = { state: 'truncated', message: 'The file ends inside the array (cut short).', count };
  }
  return { ...end, count };
}

class ExportShapeError extends Error {}

function appendString(slot: Slot | null, piece: string): void {
  if (slot?.kind !== 'string' || slot.over) return;
  if (slot.value.length + piece.length > STRING_MAX) {
    slot.over = true;
    slot.value = '';
  } else slot.value += piece;
}

/** A string value as assembled; one too long to be a title, a date or a thumbnail counts as absent. */
function stringOf(slot: Slot | null): string | null {
  return slot?.kind === 'string' && !slot.over ? slot.value : null;
}
