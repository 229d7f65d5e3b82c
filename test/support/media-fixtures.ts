/**
 * Real media for the media tests, made with ffmpeg's test sources in a temporary directory: 3 s each,
 * small (320x240, 15 fps) so the whole set takes about a second. Uses ffmpeg/ffprobe directly, not the
 * code under test, so a bug there cannot hide in the fixtures.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export const FIXTURE_SECONDS = 3;
export const FIXTURE_WIDTH = 320;
export const FIXTURE_HEIGHT = 240;

export interface MediaFixtures {
  dir: string;
  /** VP9 + Opus WebM as ffmpeg writes it to a file: with duration and cues. */
  webm: string;
  /** The same streams written as MediaRecorder does (live, to a pipe): no duration, no cues. */
  recorderWebm: string;
  /** Opus-only WebM written like MediaRecorder's audio/webm: no duration. */
  recorderAudioWebm: string;
  /** The same streams in Matroska (DocType "matroska"). */
  mkv: string;
  /** H.264 + AAC. */
  mp4: string;
  /** The MP4's streams in QuickTime (brand "qt  "). */
  mov: string;
  /** AAC in an M4A (brand "M4A "). */
  m4a: string;
  /** Opus in Ogg. */
  ogg: string;
  wav: string;
  /** MP3 with an ID3 tag and without one (starting with a frame); undefined when ffmpeg has no libmp3lame. */
  mp3?: string;
  mp3NoId3?: string;
  png: string;
  text: string;
  cleanup(): void;
}

const video = [
  '-f',
  'lavfi',
  '-i',
  `testsrc2=size=${FIXTURE_WIDTH}x${FIXTURE_HEIGHT}:rate=15:duration=${FIXTURE_SECONDS}`,
];
const tone = ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${FIXTURE_SECONDS}`];
const quiet = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y'];

async function ffmpeg(...args: string[]): Promise<void> {
  try {
    await exec('ffmpeg', [...quiet, ...args]);
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT')
      throw new Error('ffmpeg is not installed; the media tests need it (apt-get install ffmpeg)');
    throw new Error(`ffmpeg ${args.join(' ')} failed: ${err.stderr ?? err.message}`);
  }
}

/** ffmpeg writing to a pipe cannot seek back to fill in the duration: exactly MediaRecorder's situation. */
function ffmpegToPipe(out: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const fd = fs.openSync(out, 'w');
    const child = spawn('ffmpeg', [...quiet, ...args, 'pipe:1'], { stdio: ['ignore', fd, 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      fs.closeSync(fd);
      code === 0 ? resolve() : reject(new Error(`ffmpeg ${args.join(' ')} failed: ${stderr}`));
    });
  });
}

export async function hasEncoder(name: string): Promise<boolean> {
  const { stdout } = await exec('ffmpeg', ['-hide_banner', '-encoders']);
  return new RegExp(`\\s${name}\\s`).test(stdout);
}

export async function makeMediaFixtures(): Promise<MediaFixtures> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-media-'));
  const f = (name: string) => path.join(dir, name);
  const withMp3 = await hasEncoder('libmp3lame');
  const vp9 = ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '200k', '-pix_fmt', 'yuv420p'];
  const opus = ['-c:a', 'libopus', '-b:a', '32k'];

  await Promise.all([
    ffmpeg(...video, ...tone, ...vp9, ...opus, f('video.webm')),
    ffmpeg(
      ...video,
      ...tone,
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-crf',
      '35',
      '-pix_fmt',
      'yuv420p',
      '-c:a',
      'aac',
      '-b:a',
      '48k',
      f('video.mp4'),
    ),
    ffmpeg(...tone, ...opus, f('audio.ogg')),
    ffmpeg(...tone, '-c:a', 'aac', '-b:a', '48k', f('audio.m4a')),
    ffmpeg(...tone, '-ac', '1', '-ar', '8000', '-c:a', 'pcm_s16le', f('audio.wav')),
    ffmpeg('-f', 'lavfi', '-i', 'color=c=red:s=16x16', '-frames:v', '1', f('image.png')),
    withMp3 ? ffmpeg(...tone, '-c:a', 'libmp3lame', '-b:a', '64k', f('audio.mp3')) : undefined,
    withMp3
      ? ffmpeg(
          ...tone,
          '-c:a',
          'libmp3lame',
          '-b:a',
          '64k',
          '-id3v2_version',
          '0',
          '-write_xing',
          '0',
          f('audio-noid3.mp3'),
        )
      : undefined,
  ]);
  fs.writeFileSync(f('notes.txt'), 'Recording notes — take 2: start with the intro slide.\n');
  await Promise.all([
    ffmpegToPipe(f('recorder.webm'), ['-i', f('video.webm'), '-c', 'copy', '-f', 'webm', '-live', '1']),
    ffmpegToPipe(f('recorder-audio.webm'), ['-i', f('audio.ogg'), '-c', 'copy', '-f', 'webm', '-live', '1']),
    ffmpeg('-i', f('video.webm'), '-c', 'copy', '-f', 'matroska', f('video.mkv')),
    ffmpeg('-i', f('video.mp4'), '-c', 'copy', '-f', 'mov', f('video.mov')),
  ]);
  for (const name of ['recorder.webm', 'recorder-audio.webm']) {
    const d = (await ffprobeJson(f(name))).format?.duration;
    if (d !== undefined) throw new Error(`fixture ${name} should have no duration in its header, ffprobe says ${d}`);
  }

  return {
    dir,
    webm: f('video.webm'),
    recorderWebm: f('recorder.webm'),
    recorderAudioWebm: f('recorder-audio.webm'),
    mkv: f('video.mkv'),
    mp4: f('video.mp4'),
    mov: f('video.mov'),
    m4a: f('audio.m4a'),
    ogg: f('audio.ogg'),
    wav: f('audio.wav'),
    ...(withMp3 ? { mp3: f('audio.mp3'), mp3NoId3: f('audio-noid3.mp3') } : {}),
    png: f('image.png'),
    text: f('notes.txt'),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

export interface FfprobeOutput {
  format?: { duration?: string; format_name?: string };
  streams?: Array<{
    codec_type?: string;
    codec_name?: string;
    width?: number;
    height?: number;
    nb_read_packets?: string;
  }>;
}

export async function ffprobeJson(file: string, ...extra: string[]): Promise<FfprobeOutput> {
  const { stdout } = await exec('ffprobe', [
    '-v',
    'error',
    '-print_format',
    'json',
    '-show_format',
    '-show_streams',
    ...extra,
    file,
  ]);
  return JSON.parse(stdout) as FfprobeOutput;
}

/** Packets per stream type, read from the whole file (not from the header). */
export async function packetCounts(file: string): Promise<Record<string, number>> {
  const { streams = [] } = await ffprobeJson(file, '-count_packets');
  return Object.fromEntries(streams.map((s) => [s.codec_type ?? '?', Number(s.nb_read_packets)]));
}

/**
 * Sizes of every packet of the first stream of a type ('v' or 'a'): equal lists mean a stream copy, not a
 * re-encode.
 */
export async function packetSizes(file: string, type: 'v' | 'a'): Promise<number[]> {
  const { stdout } = await exec('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    `${type}:0`,
    '-show_entries',
    'packet=size',
    '-of',
    'csv=p=0',
    file,
  ]);
  return stdout.trim().split('\n').map(Number);
}
