/**
 * Tiny media for the render tests (160×120, 4 s, made with ffmpeg's lavfi sources) and measurements of a
 * render's output with ffmpeg/ffprobe directly, never with the code under test.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const quiet = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y'];

export const RENDER_SECONDS = 4;
export const RENDER_WIDTH = 160;
export const RENDER_HEIGHT = 120;

export interface RenderMedia {
  dir: string;
  /** testsrc2 + a 440 Hz tone, VP9/Opus. */
  webm: string;
  /** The same in H.264/AAC. */
  mp4: string;
  /** A flat blue-grey frame (no motion) + tone: mean colours move only by the filters. */
  flatWebm: string;
  /** A black frame + tone: any bright pixel is drawn text. */
  blackWebm: string;
  /** Opus only, in WebM. */
  audioWebm: string;
  cleanup(): void;
}

const size = `${RENDER_WIDTH}x${RENDER_HEIGHT}`;
const tone = ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${RENDER_SECONDS}`];
const lavfi = (source: string) => {
  const eq = source.indexOf('=');
  const [name, options] = eq === -1 ? [source, undefined] : [source.slice(0, eq), source.slice(eq + 1)];
  const all = [options, `size=${size}`, 'rate=15', `duration=${RENDER_SECONDS}`].filter(Boolean).join(':');
  return ['-f', 'lavfi', '-i', `${name}=${all}`];
};
const vp9 = ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k', '-pix_fmt', 'yuv420p'];
const opus = ['-c:a', 'libopus', '-b:a', '48k'];

async function ffmpeg(...args: string[]): Promise<void> {
  await exec('ffmpeg', [...quiet, ...args]);
}

export async function makeRenderMedia(): Promise<RenderMedia> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-render-'));
  const f = (name: string) => path.join(dir, name);
  await Promise.all([
    ffmpeg(...lavfi('testsrc2'), ...tone, ...vp9, ...opus, '-shortest', f('video.webm')),
    ffmpeg(
      ...lavfi('testsrc2'),
      ...tone,
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '30', '-pix_fmt', 'yuv420p', '-c:a', 'aac'],
      '-shortest',
      f('video.mp4'),
    ),
  ]);
  await Promise.all([
    ffmpeg(...lavfi('color=c=0x4070b0'), ...tone, ...vp9, ...opus, '-shortest', f('flat.webm')),
    ffmpeg(...lavfi('color=c=black'), ...tone, ...vp9, ...opus, '-shortest', f('black.webm')),
    ffmpeg(...tone, ...opus, f('audio.webm')),
  ]);
  return {
    dir,
    webm: f('video.webm'),
    mp4: f('video.mp4'),
    flatWebm: f('flat.webm'),
    blackWebm: f('black.webm'),
    audioWebm: f('audio.webm'),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

interface Streams {
  durationSeconds: number;
  video?: { codec: string; width: number; height: number };
  audio?: { codec: string };
  formatName: string;
}

/** Duration (decoded to the end: the header may lie), streams and container. */
export async function measure(file: string): Promise<Streams> {
  const { stdout } = await exec('ffprobe', [
    ...['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file],
  ]);
  const json = JSON.parse(stdout) as {
    format: { format_name: string; duration?: string };
    streams: { codec_type: string; codec_name: string; width?: number; height?: number }[];
  };
  const v = json.streams.find((s) => s.codec_type === 'video');
  const a = json.streams.find((s) => s.codec_type === 'audio');
  return {
    durationSeconds: Number(json.format.duration),
    formatName: json.format.format_name,
    ...(v ? { video: { codec: v.codec_name, width: v.width!, height: v.height! } } : {}),
    ...(a ? { audio: { codec: a.codec_name } } : {}),
  };
}

/** One frame at `at` seconds, shrunk to one pixel: the frame's mean colour [r, g, b]. */
export async function meanColour(file: string, at: number): Promise<[number, number, number]> {
  const { stdout } = await exec(
    'ffmpeg',
    [
      ...quiet,
      ...['-ss', String(at), '-i', file, '-frames:v', '1', '-vf', 'scale=1:1:flags=area'],
      ...['-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1'],
    ],
    { encoding: 'buffer' },
  );
  return [stdout[0]!, stdout[1]!, stdout[2]!];
}

/** signalstats of one frame at `at` seconds (YAVG, YMAX, SATAVG, …). */
export async function frameStats(file: string, at: number, pre = ''): Promise<Record<string, number>> {
  const { stdout } = await exec('ffmpeg', [
    ...quiet,
    ...['-ss', String(at), '-i', file, '-frames:v', '1'],
    ...['-vf', `${pre}signalstats,metadata=mode=print:file=-`, '-f', 'null', '-'],
  ]);
  const stats: Record<string, number> = {};
  for (const m of stdout.matchAll(/lavfi\.signalstats\.(\w+)=([\d.]+)/g)) stats[m[1]!] = Number(m[2]);
  return stats;
}

/** volumedetect's mean volume in dB, of the whole file or of [from, from + length). */
export async function meanVolume(file: string, from = 0, length?: number): Promise<number> {
  const { stderr } = await exec('ffmpeg', [
    ...['-nostdin', '-hide_banner', '-ss', String(from), ...(length ? ['-t', String(length)] : [])],
    ...['-i', file, '-vn', '-af', 'volumedetect', '-f', 'null', '-'],
  ]);
  const m = /mean_volume: (-?[\d.]+) dB/.exec(stderr);
  if (!m) throw new Error(`no mean_volume in ${stderr}`);
  return Number(m[1]);
}
