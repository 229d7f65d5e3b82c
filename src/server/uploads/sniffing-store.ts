/**
 * A tus FileStore that looks at an upload's first bytes before it keeps any: media we do not accept
 * is refused with 415 naming the detected type, and nothing of it is written.
 */
import { FileStore } from '@tus/file-store';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { SNIFF_BYTES, sniff } from '../media/sniff.js';

export class UnsupportedMediaError extends Error {
  constructor(readonly detected: string) {
    super(
      `This file type is not accepted (detected ${detected}); accepted: WebM/Matroska, MP4/QuickTime, Ogg, WAV, MP3`,
    );
  }
}

export class SniffingFileStore extends FileStore {
  override async write(readable: Readable, id: string, offset: number): Promise<number> {
    if (offset > 0) return super.write(readable, id, offset);
    let rejected: UnsupportedMediaError | undefined;
    let head: Buffer | undefined = Buffer.alloc(0);
    const decide = (bytes: Buffer): boolean => {
      const kind = sniff(bytes);
      if (!kind.supported) rejected = new UnsupportedMediaError(kind.mime);
      return kind.supported;
    };
    const gate = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        if (!head) return cb(null, chunk);
        head = Buffer.concat([head, chunk]);
        if (head.length < SNIFF_BYTES) return cb();
        const buffered = head;
        head = undefined;
        cb(decide(buffered) ? null : rejected!, buffered);
      },
      flush(cb) {
        // An upload (or first PATCH) shorter than the sniff window: judge what there is.
        if (!head || head.length === 0) return cb();
        const buffered = head;
        head = undefined;
        if (!decide(buffered)) return cb(rejected!);
        cb(null, buffered);
      },
    });
    const gated = pipeline(readable, gate, () => undefined);
    try {
      return await super.write(gated, id, offset);
    } catch (err) {
      if (rejected) throw rejected;
      throw err;
    }
  }
}
