/**
 * The local provider: one file per object under DATA_DIR/media, at the key's path.
 *
 * A put streams into media/.tmp/<uuid>.part (same file system, so rename is atomic), fsyncs it, then
 * renames it over the object and fsyncs the directory. A reader that opened the old file keeps reading
 * the old inode to its end; a reader opening after the rename gets the new one; no one sees a mix or a
 * half-written object. A crash before the rename leaves only a .part file, which removeIncomplete
 * deletes; the object is untouched. Memory use is constant: everything is streamed.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, type Dirent } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { contentTypeOf, publicUrlOf, validateKey, validatePrefix } from './keys.js';
import {
  checkRange,
  existsViaStat,
  NotFoundError,
  RangeNotSatisfiableError,
  type ByteRange,
  type GetResult,
  type ObjectInfo,
  type PutOptions,
  type PutResult,
  type Storage,
} from './storage.js';
import { exactLength, Meter } from './streams.js';

export interface LocalStorageOptions {
  /** The media root, DATA_DIR/media; created on first write. */
  dir: string;
  cdnBaseUrl?: string | undefined;
}

/** Names starting with "." are never keys (keys.ts), so this directory cannot collide with an object. */
const TMP_DIR = '.tmp';
/** Unfinished uploads (uploads/local-sink.ts): on the media file system, so finishing is a rename. */
const UPLOADS_DIR = '.uploads';
const TMP_SUFFIX = '.part';

const isCode = (err: unknown, ...codes: string[]) => codes.includes((err as NodeJS.ErrnoException)?.code ?? '');

export class LocalStorage implements Storage {
  readonly provider = 'local' as const;
  readonly bucket = undefined;
  readonly region = undefined;
  readonly root: string;
  private readonly tmpDir: string;

  constructor(private readonly opts: LocalStorageOptions) {
    this.root = path.resolve(opts.dir);
    this.tmpDir = path.join(this.root, TMP_DIR);
  }

  /** Validated key -> path under root. The containment check is a second fence behind validateKey. */
  private pathOf(key: string): string {
    validateKey(key);
    const p = path.join(this.root, ...key.split('/'));
    if (!p.startsWith(this.root + path.sep)) throw new Error(`key "${key}" resolves outside ${this.root}`);
    return p;
  }

  async put(key: string, source: Readable | string, opts: PutOptions = {}): Promise<PutResult> {
    const target = this.pathOf(key);
    // A file source is opened only when the pipeline starts: opened earlier, a failure before the
    // pipeline would leave its open error with no listener (an uncaught exception).
    let input = typeof source === 'string' ? undefined : source;
    const meter = new Meter(key, opts.size);
    const tmp = path.join(this.tmpDir, `${randomUUID()}${TMP_SUFFIX}`);
    let fh: FileHandle | undefined;
    try {
      await fs.mkdir(this.tmpDir, { recursive: true });
      // Opened here, not by the stream, so the file exists before any byte flows: the clean-up below
      // can never run before a lazy open creates it.
      fh = await fs.open(tmp, 'wx', 0o640);
      // flush: fsync before close, and pipeline settles after the close. The data is on disk before
      // the rename publishes it; otherwise a crash could leave a renamed, empty or partial file.
      input ??= createReadStream(source as string);
      await pipeline(input, meter, fh.createWriteStream({ flush: true }));
      await this.publish(tmp, target);
    } catch (err) {
      await fh?.close().catch(() => undefined);
      await fs.rm(tmp, { force: true });
      // A failure before pipeline ran would leave the caller's stream (an HTTP request) paused forever.
      if (input && !input.destroyed) input.destroy();
      throw err;
    }
    return { size: meter.bytes, sha256: meter.sha256() };
  }

  /** Where an unfinished upload's file lives; the id is tus's (hex), never a path. */
  uploadPath(uploadId: string): string {
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(uploadId)) throw new Error(`invalid upload id ${JSON.stringify(uploadId)}`);
    return path.join(this.root, UPLOADS_DIR, uploadId);
  }

  /** Moves a complete, fsync'd file (an upload's) to be the object under key: rename, then fsync dirs. */
  async adopt(file: string, key: string): Promise<void> {
    await this.publish(file, this.pathOf(key));
  }

  /** rename(tmp, target), creating parents, then fsyncs every directory whose entries changed. */
  private async publish(tmp: string, target: string): Promise<void> {
    const dir = path.dirname(target);
    for (let attempt = 1; ; attempt++) {
      const firstCreated = await fs.mkdir(dir, { recursive: true });
      try {
        await fs.rename(tmp, target);
        await this.syncDirs(firstCreated ? path.dirname(firstCreated) : dir, dir);
        return;
      } catch (err) {
        // A concurrent delete may prune the (then empty) parent between our mkdir and rename.
        if (!isCode(err, 'ENOENT') || attempt >= 3) throw err;
      }
    }
  }

  /** fsync `from` and each directory below it down to `to` (a rename is durable once its dir is). */
  private async syncDirs(from: string, to: string): Promise<void> {
    const dirs = [to];
    for (let dir = to; dir !== from && dir.startsWith(from); ) {
      dir = path.dirname(dir);
      dirs.push(dir);
    }
    for (const d of dirs) {
      const h = await fs.open(d, 'r');
      try {
        await h.sync();
      } finally {
        await h.close();
      }
    }
  }

  async get(key: string, range?: ByteRange): Promise<GetResult> {
    if (range) checkRange(range);
    const file = this.pathOf(key);
    let fh: FileHandle;
    try {
      fh = await fs.open(file, 'r');
    } catch (err) {
      if (isCode(err, 'ENOENT', 'ENOTDIR', 'EISDIR')) throw new NotFoundError(key);
      throw err;
    }
    try {
      // Size and bytes come from the same open inode: a replace after this point cannot mix them.
      const st = await fh.stat();
      if (!st.isFile()) throw new NotFoundError(key);
      const contentType = contentTypeOf(key);
      if (!range) {
        return { body: exactLength(fh.createReadStream(), st.size, key), size: st.size, contentType };
      }
      if (range.start >= st.size) throw new RangeNotSatisfiableError(key, range, st.size);
      const served = { start: range.start, end: Math.min(range.end, st.size - 1) };
      const body = exactLength(fh.createReadStream(served), served.end - served.start + 1, key);
      return { body, size: st.size, contentType, range: served };
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async stat(key: string): Promise<ObjectInfo> {
    const file = this.pathOf(key);
    try {
      const st = await fs.stat(file);
      if (!st.isFile()) throw new NotFoundError(key);
      return { key, size: st.size, lastModified: st.mtime, contentType: contentTypeOf(key) };
    } catch (err) {
      if (isCode(err, 'ENOENT', 'ENOTDIR')) throw new NotFoundError(key);
      throw err;
    }
  }

  exists(key: string): Promise<boolean> {
    return existsViaStat(this, key);
  }

  async delete(key: string): Promise<void> {
    const file = this.pathOf(key);
    try {
      await fs.unlink(file);
    } catch (err) {
      // Missing, or a directory (a prefix of other keys, not an object): nothing to delete either way.
      if (!isCode(err, 'ENOENT', 'ENOTDIR', 'EISDIR')) throw err;
    }
    // Best-effort: leave no empty users/<u>/recordings/<id>/ behind. rmdir fails on a non-empty
    // directory, which is where we stop; a put racing us recreates what it needs (see publish).
    for (
      let dir = path.dirname(file);
      dir !== this.root && dir.startsWith(this.root + path.sep);
      dir = path.dirname(dir)
    ) {
      try {
        await fs.rmdir(dir);
      } catch {
        break;
      }
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    validatePrefix(prefix);
    // Start at the deepest directory the prefix names completely; filter the rest by string prefix.
    const base = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    yield* this.walk(path.join(this.root, ...base.split('/').filter(Boolean)), base, prefix);
  }

  private async *walk(dir: string, keyPrefix: string, prefix: string): AsyncGenerator<ObjectInfo> {
    let entries: Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isCode(err, 'ENOENT', 'ENOTDIR')) return;
      throw err;
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue; // .tmp and anything else that is not an object
      const key = keyPrefix + e.name;
      if (e.isDirectory()) {
        const sub = `${key}/`;
        if (sub.startsWith(prefix) || prefix.startsWith(sub)) yield* this.walk(path.join(dir, e.name), sub, prefix);
      } else if (e.isFile() && key.startsWith(prefix)) {
        try {
          const st = await fs.stat(path.join(dir, e.name));
          yield { key, size: st.size, lastModified: st.mtime, contentType: contentTypeOf(key) };
        } catch (err) {
          if (!isCode(err, 'ENOENT')) throw err; // deleted while we listed
        }
      }
    }
  }

  publicUrl(key: string): string | undefined {
    return publicUrlOf(this.opts.cdnBaseUrl, key);
  }

  /** Deletes .part files of puts that died (crash, kill -9) and were last written before olderThan. */
  async removeIncomplete(olderThan: Date): Promise<number> {
    let names: string[];
    try {
      names = await fs.readdir(this.tmpDir);
    } catch (err) {
      if (isCode(err, 'ENOENT')) return 0;
      throw err;
    }
    let removed = 0;
    for (const name of names) {
      const p = path.join(this.tmpDir, name);
      try {
        if ((await fs.stat(p)).mtime < olderThan) {
          await fs.rm(p, { force: true });
          removed++;
        }
      } catch (err) {
        if (!isCode(err, 'ENOENT')) throw err;
      }
    }
    return removed;
  }
}
