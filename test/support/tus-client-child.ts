/**
 * A tus client in its own process, for tests that kill it with SIGKILL mid-upload (nothing of it may
 * run after that: no abort, no clean-up, exactly like a browser tab that crashed).
 *
 * Run: node --import tsx test/support/tus-client-child.ts '<json options>' (see ChildOptions).
 * It uploads `file` with tus-js-client and prints one JSON line per event on stdout:
 *   {"type":"url","url":"http://…/api/uploads/<id>"}      once the upload exists on the server
 *   {"type":"progress","bytesSent":N,"bytesTotal":M}      while bytes go out
 *   {"type":"success","recordingId":"…"}                  then exits 0
 *   {"type":"error","message":"…"}                        then exits 1
 *
 * Bytes are paced (bytesPerSecond) and each chunk is streamed, not sent as one buffer: a kill lands
 * in the middle of a PATCH body, so the server is left with a partial chunk, as after a real crash.
 */
import fs from 'node:fs';
import { type Readable, Transform } from 'node:stream';
import * as tus from 'tus-js-client';

export interface ChildOptions {
  endpoint: string;
  file: string;
  headers: Record<string, string>;
  metadata: Record<string, string>;
  chunkSize: number;
  /** Pace of the body bytes; the stream pauses between 16 KiB pieces to keep it. */
  bytesPerSecond: number;
}

const opts = JSON.parse(process.argv[2] ?? '{}') as ChildOptions;
const say = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);

/** A slice of the file as a stream that yields 16 KiB at a time at the configured pace. */
function pacedSlice(file: string, start: number, end: number): Readable & { size: number } {
  const piece = 16 * 1024;
  const delayMs = (piece / opts.bytesPerSecond) * 1000;
  const source = fs.createReadStream(file, { start, end: end - 1, highWaterMark: piece });
  const pace = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      setTimeout(() => cb(null, chunk), delayMs);
    },
  });
  const out = source.pipe(pace) as Transform & { size: number };
  out.size = end - start;
  return out;
}

const size = fs.statSync(opts.file).size;
const fileReader = {
  async openFile() {
    return {
      size,
      async slice(start: number, end: number) {
        const stop = Math.min(end, size);
        return { value: pacedSlice(opts.file, start, stop), done: stop >= size };
      },
      close() {},
    };
  },
};

const upload = new tus.Upload(Buffer.alloc(0), {
  endpoint: opts.endpoint,
  headers: opts.headers,
  metadata: opts.metadata,
  chunkSize: opts.chunkSize,
  retryDelays: null,
  fileReader,
  onUploadUrlAvailable: () => say({ type: 'url', url: upload.url }),
  onProgress: (bytesSent, bytesTotal) => say({ type: 'progress', bytesSent, bytesTotal }),
  onSuccess: ({ lastResponse }) => {
    say({ type: 'success', recordingId: lastResponse.getHeader('Recording-Id') ?? null });
    process.exit(0);
  },
  onError: (err) => {
    say({ type: 'error', message: err.message });
    process.exit(1);
  },
});
upload.start();
