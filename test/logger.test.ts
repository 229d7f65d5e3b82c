/** LOG_FORMAT: readable lines through pino-pretty, JSON otherwise; secrets are redacted in both. */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, takeIdsOf } from '../src/server/logger.js';

/** A destination that keeps what pino-pretty writes (it writes as its stream flows, not at once). */
function capture() {
  const chunks: string[] = [];
  let written: () => void = () => undefined;
  const firstWrite = new Promise<void>((resolve) => {
    written = resolve;
  });
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      written();
      done();
    },
  });
  return { stream, firstWrite, text: () => chunks.join('') };
}

describe('logger', () => {
  it('pretty: one readable line a record, with its fields, the secret redacted', async () => {
    const out = capture();
    const logger = createLogger('info', out.stream, 'pretty');
    logger.info({ sessionId: '12', password: 'hunter2-secret' }, 'recording session started');
    await out.firstWrite;
    const text = out.text();
    expect(text).toMatch(/INFO.*recording session started/);
    expect(text).toContain('sessionId: "12"');
    expect(text).not.toContain('hunter2-secret');
    expect(text.trimStart().startsWith('{')).toBe(false);
  });

  it('json: one JSON object a line, the secret redacted', () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(line) }, 'json');
    logger.info({ sessionId: '12', password: 'hunter2-secret' }, 'recording session started');
    expect(JSON.parse(lines[0]!)).toMatchObject({ sessionId: '12', password: '[redacted]', level: 30 });
  });

  it("a recording's take ids come from its row: its session and upload when it has them", () => {
    expect(takeIdsOf({ id: '7', metadata: { session_id: '3', upload_id: 'abc' } })).toEqual({
      sessionId: '3',
      uploadId: 'abc',
      recordingId: '7',
    });
    expect(takeIdsOf({ id: '7', metadata: {} })).toEqual({ recordingId: '7' });
  });
});
