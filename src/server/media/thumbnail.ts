/**
 * Library thumbnails: a JPEG frame for video, a waveform picture for audio-only recordings, both JPEG so
 * the library shows one kind of image.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { FFMPEG_QUIET, fileArg, type MediaTools, runTool } from './ffmpeg.js';
import { probe } from './probe.js';

export interface ThumbnailOptions {
  /** Where to take the frame; default 10% in, so a recording's black first frame or countdown is skipped. */
  atMs?: number;
  /** Output width in pixels; the height follows the aspect ratio (waveforms are 16:9). */
  width?: number;
  timeoutMs?: number;
}

export interface ThumbnailResult {
  kind: 'frame' | 'waveform';
  /** The time the frame was taken at (frames only). */
  atMs?: number;
}

// Frames near the very end may not decode once seeking lands past the last keyframe's group.
const END_MARGIN_MS = 500;
const WAVE_COLOR = '0x2563eb';
const BACKGROUND = '0xf8fafc';

export async function makeThumbnail(
  input: string,
  outputJpeg: string,
  tools: MediaTools,
  opts: ThumbnailOptions = {},
): Promise<ThumbnailResult> {
  const width = opts.width ?? 640;
  if (!Number.isInteger(width) || width < 16 || width > 4096)
    throw new Error(`thumbnail width must be 16..4096, got ${width}`);
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const info = await probe(input, tools);
  if (!info.hasVideo && !info.hasAudio) throw new Error(`${input} has neither video nor audio`);

  const tmp = path.join(
    path.dirname(outputJpeg),
    `.${path.basename(outputJpeg)}.${randomBytes(4).toString('hex')}.tmp.jpg`,
  );
  // -update 1: one picture, so a "%" in the path is not read as an image-sequence pattern.
  const jpeg = ['-frames:v', '1', '-q:v', '3', '-f', 'image2', '-update', '1', '-c:v', 'mjpeg', fileArg(tmp)];
  try {
    if (!info.hasVideo) {
      const h = Math.round((width * 9) / 16 / 2) * 2;
      // showwavespic draws on transparency, which JPEG lacks: lay it over a plain background.
      // sqrt scale keeps quiet speech visible next to loud passages. setpts=0: the picture carries the audio's
      // start time, and WebM audio starting after 0 would miss the first background frame, the one we keep.
      const graph =
        '[0:a:0]aformat=channel_layouts=mono,' +
        `showwavespic=s=${width}x${h}:colors=${WAVE_COLOR}:scale=sqrt,setpts=0[w];` +
        `color=c=${BACKGROUND}:s=${width}x${h}:d=1[bg];[bg][w]overlay=format=auto,format=yuvj420p[out]`;
      await runTool(
        tools.ffmpeg,
        [...FFMPEG_QUIET, '-y', '-i', fileArg(input), '-filter_complex', graph, '-map', '[out]', ...jpeg],
        {
          timeoutMs,
          captureStdout: false,
        },
      );
      await mustExist(tmp, input);
      await fs.rename(tmp, outputJpeg);
      return { kind: 'waveform' };
    }

    const last = Math.max(0, info.durationMs - END_MARGIN_MS);
    const atMs = Math.min(Math.max(0, Math.round(opts.atMs ?? info.durationMs * 0.1)), last);
    // Square pixels first (anamorphic sources), then the width; -2 keeps the height even for the encoder.
    const scale = `scale=iw*sar:ih,setsar=1,scale=${width}:-2`;
    const frameAt = (ms: number) =>
      runTool(
        tools.ffmpeg,
        [
          ...FFMPEG_QUIET,
          '-y',
          '-ss',
          (ms / 1000).toFixed(3),
          '-i',
          fileArg(input),
          '-map',
          '0:v:0',
          '-vf',
          scale,
          ...jpeg,
        ],
        {
          timeoutMs,
          captureStdout: false,
        },
      );
    await frameAt(atMs);
    // ffmpeg exits 0 without writing when the seek lands past the last frame (a header duration can overstate it).
    let usedMs = atMs;
    if (!(await nonEmpty(tmp)) && atMs > 0) {
      usedMs = 0;
      await frameAt(0);
    }
    await mustExist(tmp, input);
    await fs.rename(tmp, outputJpeg);
    return { kind: 'frame', atMs: usedMs };
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

async function nonEmpty(file: string): Promise<boolean> {
  const stat = await fs.stat(file).catch(() => undefined);
  return (stat?.size ?? 0) > 0;
}

async function mustExist(file: string, input: string): Promise<void> {
  if (!(await nonEmpty(file))) throw new Error(`ffmpeg wrote no thumbnail for ${input}`);
}
