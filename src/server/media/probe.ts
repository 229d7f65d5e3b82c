/**
 * What a recording holds: duration, dimensions, codecs. ffprobe reads the headers; WebM written by
 * MediaRecorder has no duration there (it is written while recording, before the end is known), so the
 * duration then comes from mediabunny, which reads the file's packets, and as a last resort from ffmpeg
 * reading the whole file.
 */
import fs from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { FFMPEG_QUIET, fileArg, type MediaTools, runTool } from './ffmpeg.js';

export interface ProbeResult {
  durationMs: number;
  /** Where durationMs came from: the container header, mediabunny reading the file, or ffmpeg reading it all. */
  durationSource: 'header' | 'mediabunny' | 'scan';
  width?: number;
  height?: number;
  videoCodec?: string;
  audioCodec?: string;
  /** Bits per second, from the header or else size / duration. */
  bitrate?: number;
  hasVideo: boolean;
  hasAudio: boolean;
  /** ffprobe's format name, e.g. "matroska,webm" or "mov,mp4,m4a,3gp,3g2,mj2". */
  formatName: string;
}

export interface ProbeOptions {
  timeoutMs?: number;
  /** For the ffmpeg fallback, which reads the whole file. */
  scanTimeoutMs?: number;
}

interface FfprobeJson {
  format?: { format_name?: string; duration?: string; bit_rate?: string };
  streams?: Array<{
    codec_type?: string;
    codec_name?: string;
    width?: number;
    height?: number;
    duration?: string;
    disposition?: { attached_pic?: number };
  }>;
}

export async function probe(file: string, tools: MediaTools, opts: ProbeOptions = {}): Promise<ProbeResult> {
  const { stdout } = await runTool(
    tools.ffprobe,
    ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', fileArg(file)],
    { timeoutMs: opts.timeoutMs ?? 30_000 },
  );
  const json = JSON.parse(stdout.toString('utf8')) as FfprobeJson;
  const streams = json.streams ?? [];
  // Cover art in MP3/M4A shows up as a one-frame video stream; it does not make a file a video.
  const video = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  const audio = streams.find((s) => s.codec_type === 'audio');

  let durationMs = seconds(json.format?.duration);
  let durationSource: ProbeResult['durationSource'] = 'header';
  if (durationMs === undefined) {
    const fromStreams = streams.map((s) => seconds(s.duration)).filter((d): d is number => d !== undefined);
    if (fromStreams.length) durationMs = Math.max(...fromStreams);
  }
  if (durationMs === undefined) {
    try {
      durationMs = await probeDuration(file);
      durationSource = 'mediabunny';
    } catch {
      durationMs = await scanDuration(file, tools, opts.scanTimeoutMs);
      durationSource = 'scan';
    }
  }

  const headerBitrate = Number(json.format?.bit_rate);
  let bitrate = Number.isFinite(headerBitrate) && headerBitrate > 0 ? headerBitrate : undefined;
  if (bitrate === undefined && durationMs > 0)
    bitrate = Math.round(((await fs.stat(file)).size * 8 * 1000) / durationMs);

  return {
    durationMs,
    durationSource,
    ...(video?.width ? { width: video.width } : {}),
    ...(video?.height ? { height: video.height } : {}),
    ...(video?.codec_name ? { videoCodec: video.codec_name } : {}),
    ...(audio?.codec_name ? { audioCodec: audio.codec_name } : {}),
    ...(bitrate !== undefined ? { bitrate } : {}),
    hasVideo: video !== undefined,
    hasAudio: audio !== undefined,
    formatName: json.format?.format_name ?? 'unknown',
  };
}

/**
 * The duration in ms, measured by reading the file with mediabunny (pure TypeScript, no ffmpeg): the end
 * time of the last packet over all tracks, so it also works when the header has no duration.
 * It runs in a worker thread, terminated after timeoutMs: mediabunny 1.61 loops forever on some malformed
 * WebM (an EBML header followed by garbage), and on the main thread that would freeze the server.
 */
export function probeDuration(file: string, timeoutMs = 30_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./duration-worker.mjs', import.meta.url), { workerData: { file } });
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`mediabunny did not finish reading ${file} within ${timeoutMs} ms`));
    }, timeoutMs);
    worker.once('message', (m: { ok: boolean; seconds?: number; message?: string }) => {
      clearTimeout(timer);
      void worker.terminate();
      if (m.ok && Number.isFinite(m.seconds) && m.seconds! > 0) resolve(Math.round(m.seconds! * 1000));
      else
        reject(
          new Error(
            m.ok ? `mediabunny found no duration in ${file}` : `mediabunny could not read ${file}: ${m.message}`,
          ),
        );
    });
    worker.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/**
 * Last resort: read every packet to the end with ffmpeg (to the null muxer) and take the last timestamp it
 * reached. Stream copy instead of decoding: the timestamps are the same, and a 10-minute 1 Mb/s WebM takes
 * 0.7 s instead of 20 s.
 */
export async function scanDuration(file: string, tools: MediaTools, timeoutMs = 10 * 60_000): Promise<number> {
  const { stdout } = await runTool(
    tools.ffmpeg,
    [
      ...FFMPEG_QUIET,
      '-i',
      fileArg(file),
      '-map',
      '0:v?',
      '-map',
      '0:a?',
      '-c',
      'copy',
      '-progress',
      'pipe:1',
      '-nostats',
      '-f',
      'null',
      '-',
    ],
    { timeoutMs },
  );
  const times = [...stdout.toString('utf8').matchAll(/^out_time_us=(\d+)$/gm)].map((m) => Number(m[1]));
  const last = times.at(-1);
  if (!last) throw new Error(`reading ${file} to the end gave no timestamps`);
  return Math.round(last / 1000);
}

function seconds(v: string | undefined): number | undefined {
  const n = Number(v);
  return v !== undefined && v !== 'N/A' && Number.isFinite(n) && n > 0 ? Math.round(n * 1000) : undefined;
}
