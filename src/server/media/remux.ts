/**
 * MediaRecorder writes WebM as a live stream: no duration and no cues (seek index) in the file, so players
 * show no length and seek badly or not at all. Remuxing with stream copy (no re-encoding, no quality loss)
 * into a seekable file makes ffmpeg write both.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { FFMPEG_QUIET, fileArg, type MediaTools, runTool } from './ffmpeg.js';
import { probe } from './probe.js';
import { SNIFF_BYTES, sniff } from './sniff.js';

/** How far the remuxed file's duration may be from the input's measured one before we refuse to use it. */
export const DURATION_TOLERANCE_MS = 1000;

export interface FixDurationResult {
  /** false: the input's header already had a duration and `output` was not written; keep using the input. */
  fixed: boolean;
  /** The input's duration (measured by reading the file when the header had none). */
  durationMs: number;
  /** The duration in the written output's header, when fixed. */
  outputDurationMs?: number;
}

export interface FixDurationOptions {
  timeoutMs?: number;
}

/**
 * Writes a copy of `input` with a duration and cues to `output` (which may be `input` itself) when the input
 * has no duration. The copy goes to a temporary file beside `output` and replaces it only after its duration
 * was checked, so a failed or truncated remux never replaces anything.
 */
export async function fixWebmDuration(
  input: string,
  output: string,
  tools: MediaTools,
  opts: FixDurationOptions = {},
): Promise<FixDurationResult> {
  const kind = sniff(await readHead(input));
  if (!kind.supported || (kind.container !== 'webm' && kind.container !== 'matroska')) {
    throw new Error(`fixWebmDuration needs WebM or Matroska; ${input} is ${kind.mime}`);
  }
  const before = await probe(input, tools);
  if (before.durationSource === 'header') return { fixed: false, durationMs: before.durationMs };

  const tmp = path.join(path.dirname(output), `.${path.basename(output)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await runTool(
      tools.ffmpeg,
      // Only audio and video: the webm muxer refuses data streams, and a recording has nothing else.
      [
        ...FFMPEG_QUIET,
        '-y',
        '-i',
        fileArg(input),
        '-map',
        '0:v?',
        '-map',
        '0:a?',
        '-c',
        'copy',
        '-f',
        kind.container,
        fileArg(tmp),
      ],
      { timeoutMs: opts.timeoutMs ?? 10 * 60_000, captureStdout: false },
    );
    const after = await probe(tmp, tools);
    if (after.durationSource !== 'header') throw new Error(`remuxed ${input} still has no duration in its header`);
    if (Math.abs(after.durationMs - before.durationMs) > DURATION_TOLERANCE_MS) {
      throw new Error(
        `remuxed ${input} lasts ${after.durationMs} ms, but the input measured ${before.durationMs} ms; not replacing`,
      );
    }
    await fs.rename(tmp, output);
    return { fixed: true, durationMs: before.durationMs, outputDurationMs: after.durationMs };
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

export async function readHead(file: string, bytes = SNIFF_BYTES): Promise<Buffer> {
  const fh = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}
