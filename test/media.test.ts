/**
 * The media layer against real files made by ffmpeg (test/support/media-fixtures.ts) and the real
 * ffmpeg/ffprobe; "without ffmpeg" means FFMPEG_PATH pointing nowhere. No mocks.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  detectTools,
  describeTools,
  MediaToolError,
  type MediaTools,
  resolveTools,
  runTool,
} from '../src/server/media/ffmpeg.js';
import { probe, probeDuration, scanDuration } from '../src/server/media/probe.js';
import { fixWebmDuration, readHead } from '../src/server/media/remux.js';
import { SNIFF_BYTES, sniff } from '../src/server/media/sniff.js';
import { makeThumbnail } from '../src/server/media/thumbnail.js';
import {
  ffprobeJson,
  FIXTURE_SECONDS,
  type MediaFixtures,
  makeMediaFixtures,
  packetCounts,
  packetSizes,
} from './support/media-fixtures.js';

const exec = promisify(execFile);
const SECONDS_MS = FIXTURE_SECONDS * 1000;
const CUES_ID = Buffer.from([0x1c, 0x53, 0xbb, 0x6b]);
const MISSING: MediaTools = { ffmpeg: '/nonexistent/ffmpeg', ffprobe: '/nonexistent/ffprobe' };

let fx: MediaFixtures;
let tools: MediaTools;
let out: string;

beforeAll(async () => {
  fx = await makeMediaFixtures();
  out = fs.mkdtempSync(path.join(fx.dir, 'out-'));
  const report = await detectTools();
  if (!report.tools) throw new Error(`the media tests need ffmpeg and ffprobe: ${describeTools(report)}`);
  tools = report.tools;
});
afterAll(() => fx?.cleanup());

const bytesOf = (s: string) => Buffer.from(s, 'latin1');

describe('sniff', () => {
  it('needs at most 64 bytes', () => {
    expect(SNIFF_BYTES).toBeLessThanOrEqual(64);
  });

  it.for([
    ['webm', 'webm', 'video/webm', 'webm', 'video'],
    ['recorderWebm', 'webm', 'video/webm', 'webm', 'video'],
    // Audio-only WebM still says video: its tracks are past the sniffed bytes; probe decides.
    ['recorderAudioWebm', 'webm', 'video/webm', 'webm', 'video'],
    ['mkv', 'matroska', 'video/x-matroska', 'mkv', 'video'],
    ['mp4', 'mp4', 'video/mp4', 'mp4', 'video'],
    ['mov', 'quicktime', 'video/quicktime', 'mov', 'video'],
    ['m4a', 'mp4', 'audio/mp4', 'm4a', 'audio'],
    ['ogg', 'ogg', 'audio/ogg', 'opus', 'audio'],
    ['wav', 'wav', 'audio/wav', 'wav', 'audio'],
    ['mp3', 'mp3', 'audio/mpeg', 'mp3', 'audio'],
    ['mp3NoId3', 'mp3', 'audio/mpeg', 'mp3', 'audio'],
  ] as const)('recognises %s from its first bytes', async ([name, container, mime, ext, kind], ctx) => {
    const file = fx[name];
    if (!file) return ctx.skip('ffmpeg has no libmp3lame');
    const head = await readHead(file);
    expect(head.length).toBe(SNIFF_BYTES);
    expect(sniff(head)).toEqual({ supported: true, container, mime, ext, kind });
    // Bytes past SNIFF_BYTES change nothing.
    expect(sniff(fs.readFileSync(file))).toEqual(sniff(head));
  });

  it('refuses the generated non-media files, naming what they are', async () => {
    expect(sniff(await readHead(fx.png))).toEqual({ supported: false, mime: 'image/png', kind: 'unknown' });
    expect(sniff(await readHead(fx.text))).toEqual({ supported: false, mime: 'text/plain', kind: 'unknown' });
  });

  it.each([
    ['%PDF-1.7\n%âãÏÓ\n1 0 obj', 'application/pdf'],
    ['PK\x03\x04\x14\x00\x00\x00\x08\x00', 'application/zip'],
    ['\xff\xd8\xff\xe0\x00\x10JFIF\x00', 'image/jpeg'],
    ['GIF89a\x01\x00\x01\x00', 'image/gif'],
    ['\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1', 'image/avif'],
    ['RIFF\x24\x00\x00\x00WEBPVP8 ', 'image/webp'],
    ['\x1f\x8b\x08\x00\x00\x00\x00\x00', 'application/gzip'],
    ['\xff\xf1\x50\x80\x02\x1f\xfc', 'audio/aac'],
    // Frame sync with the reserved bitrate index 15: not an MP3 frame.
    ['\xff\xfb\xf0\x00\x00\x00', 'application/octet-stream'],
    ['\x00\x01\x02\x03\x04\x05\x06\x07', 'application/octet-stream'],
    ['', 'application/x-empty'],
  ])('refuses %j as %s', (text, mime) => {
    expect(sniff(bytesOf(text))).toEqual({ supported: false, mime, kind: 'unknown' });
  });

  it('accepts an MP3 frame header only with valid layer bits', () => {
    expect(sniff(Buffer.from([0xff, 0xfb, 0x90, 0x64])).supported).toBe(true); // MPEG-1 layer III, 128 kb/s
    expect(sniff(Buffer.from([0xff, 0xf9, 0x90, 0x64])).supported).toBe(false); // layer bits 00
  });

  it('reads UTF-8 text cut mid-character at the sample boundary as text', () => {
    // "a" then two-byte characters: the 64th byte is the first half of one.
    const text = Buffer.from(`a${'é'.repeat(40)}`, 'utf8');
    expect(text[SNIFF_BYTES - 1]).toBe(0xc3);
    expect(sniff(text)).toEqual({ supported: false, mime: 'text/plain', kind: 'unknown' });
    expect(sniff(Buffer.from([0x61, 0xc3, 0x28, 0x61])).mime).toBe('application/octet-stream'); // invalid UTF-8
  });
});

describe('ffmpeg tools', () => {
  it('finds ffmpeg and ffprobe on PATH, with versions, skipping nothing', async () => {
    const r = await detectTools({ PATH: process.env.PATH });
    expect(r.ffmpeg).toMatchObject({ available: true, path: 'ffmpeg', version: expect.stringMatching(/\d/) });
    expect(r.ffprobe).toMatchObject({ available: true, path: 'ffprobe' });
    expect(r.tools).toEqual({ ffmpeg: 'ffmpeg', ffprobe: 'ffprobe' });
    expect(r.skipped).toEqual([]);
  });

  it('takes ffprobe from beside FFMPEG_PATH unless FFPROBE_PATH says otherwise', async () => {
    const real = (await exec('sh', ['-c', 'command -v ffmpeg'])).stdout.trim();
    expect(resolveTools({ FFMPEG_PATH: real })).toEqual({
      ffmpeg: real,
      ffprobe: path.join(path.dirname(real), 'ffprobe'),
    });
    expect(resolveTools({ FFMPEG_PATH: real, FFPROBE_PATH: '/opt/x/ffprobe' }).ffprobe).toBe('/opt/x/ffprobe');
    expect((await detectTools({ FFMPEG_PATH: real })).tools).not.toBeNull();
  });

  it('says what is missing and what is skipped when FFMPEG_PATH points nowhere', async () => {
    const r = await detectTools({ FFMPEG_PATH: '/nonexistent', PATH: process.env.PATH });
    expect(r.tools).toBeNull();
    expect(r.ffmpeg).toMatchObject({
      available: false,
      path: '/nonexistent',
      reason: expect.stringContaining('/nonexistent not found'),
    });
    expect(r.ffprobe).toMatchObject({
      available: false,
      path: '/ffprobe',
      reason: expect.stringContaining('not found'),
    });
    expect(r.skipped.join('\n')).toMatch(/thumbnails/);
    expect(r.skipped.join('\n')).toMatch(/duration of MediaRecorder WebM/);
    expect(describeTools(r)).toMatch(/^ffmpeg unavailable: .*skipped: /);
  });

  it('does not take any program for ffmpeg', async () => {
    const r = await detectTools({ FFMPEG_PATH: '/bin/echo' });
    expect(r.ffmpeg).toMatchObject({ available: false, reason: expect.stringContaining('does not look like ffmpeg') });
  });

  it('kills a process that overruns its timeout', async () => {
    const started = Date.now();
    const err = await runTool(process.execPath, ['-e', 'setTimeout(() => {}, 20000)'], { timeoutMs: 300 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MediaToolError);
    expect((err as MediaToolError).failure).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('puts the exit code and stderr into the error', async () => {
    const err = await runTool(process.execPath, ['-e', 'console.error("boom here"); process.exit(3)'], {
      timeoutMs: 10_000,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MediaToolError);
    expect((err as Error).message).toMatch(/exited with code 3: boom here/);
  });
});

describe('probe', () => {
  it('reads duration, dimensions and codecs of a WebM', async () => {
    const p = await probe(fx.webm, tools);
    expect(Math.abs(p.durationMs - SECONDS_MS)).toBeLessThanOrEqual(100);
    expect(p).toMatchObject({
      durationSource: 'header',
      width: 320,
      height: 240,
      videoCodec: 'vp9',
      audioCodec: 'opus',
      hasVideo: true,
      hasAudio: true,
    });
    expect(p.formatName).toContain('webm');
    expect(p.bitrate).toBeGreaterThan(10_000);
  });

  it('reads an H.264/AAC MP4', async () => {
    const p = await probe(fx.mp4, tools);
    expect(Math.abs(p.durationMs - SECONDS_MS)).toBeLessThanOrEqual(100);
    expect(p).toMatchObject({
      width: 320,
      height: 240,
      videoCodec: 'h264',
      audioCodec: 'aac',
      hasVideo: true,
      hasAudio: true,
    });
    expect(p.formatName).toContain('mp4');
  });

  it.for(['ogg', 'wav', 'm4a', 'mp3'] as const)('reads audio-only %s', async (name, ctx) => {
    const file = fx[name];
    if (!file) return ctx.skip('ffmpeg has no libmp3lame');
    const p = await probe(file, tools);
    expect(Math.abs(p.durationMs - SECONDS_MS)).toBeLessThanOrEqual(100);
    expect(p).toMatchObject({ hasVideo: false, hasAudio: true });
    expect(p.width).toBeUndefined();
    expect(p.audioCodec).toMatch(/opus|pcm_s16le|aac|mp3/);
  });

  it('measures a MediaRecorder-like WebM without a header duration with mediabunny', async () => {
    expect((await ffprobeJson(fx.recorderWebm)).format?.duration).toBeUndefined();
    const p = await probe(fx.recorderWebm, tools);
    expect(p.durationSource).toBe('mediabunny');
    expect(Math.abs(p.durationMs - SECONDS_MS)).toBeLessThanOrEqual(100);
    expect(p).toMatchObject({ width: 320, height: 240, videoCodec: 'vp9', audioCodec: 'opus' });
    expect(p.bitrate).toBeGreaterThan(10_000);
  });

  it('measures the same file by reading it to the end with ffmpeg, the last resort', async () => {
    expect(Math.abs((await scanDuration(fx.recorderWebm, tools)) - SECONDS_MS)).toBeLessThanOrEqual(100);
  });

  it('fails on non-media with ffprobe’s reason', async () => {
    await expect(probe(fx.text, tools)).rejects.toThrow(/ffprobe exited with code 1: .*Invalid data/);
  });

  it.for(['webm', 'recorderWebm', 'recorderAudioWebm', 'mkv', 'mp4', 'mov', 'm4a', 'ogg', 'wav', 'mp3'] as const)(
    'probeDuration measures %s without ffmpeg',
    async (name, ctx) => {
      const file = fx[name];
      if (!file) return ctx.skip('ffmpeg has no libmp3lame');
      expect(Math.abs((await probeDuration(file)) - SECONDS_MS)).toBeLessThanOrEqual(100);
    },
  );
});

describe('fixWebmDuration', () => {
  it('remuxes a duration-less WebM into one with a duration and cues, same frames', async () => {
    const target = path.join(out, 'fixed.webm');
    const r = await fixWebmDuration(fx.recorderWebm, target, tools);
    expect(r.fixed).toBe(true);
    expect(Math.abs(r.durationMs - SECONDS_MS)).toBeLessThanOrEqual(100);

    const header = Number((await ffprobeJson(target)).format?.duration);
    expect(Math.abs(header * 1000 - SECONDS_MS)).toBeLessThanOrEqual(100);
    expect(Math.abs(r.outputDurationMs! - r.durationMs)).toBeLessThanOrEqual(100);
    const [before, after] = [fs.readFileSync(fx.recorderWebm), fs.readFileSync(target)];
    expect(after.equals(before)).toBe(false);
    expect(before.includes(CUES_ID)).toBe(false);
    expect(after.includes(CUES_ID)).toBe(true);
    expect(await packetCounts(target)).toEqual(await packetCounts(fx.recorderWebm));
    expect((await packetCounts(target)).video).toBe(FIXTURE_SECONDS * 15);
    // Stream copy: every packet is the same size as before (a re-encode would change them).
    expect(await packetSizes(target, 'v')).toEqual(await packetSizes(fx.recorderWebm, 'v'));
    expect(await packetSizes(target, 'a')).toEqual(await packetSizes(fx.recorderWebm, 'a'));
    expect(sniff(after.subarray(0, SNIFF_BYTES))).toMatchObject({ container: 'webm' });
  });

  it('fixes a file in place, leaving no temporary file', async () => {
    const dir = fs.mkdtempSync(path.join(out, 'inplace-'));
    const file = path.join(dir, 'rec.webm');
    fs.copyFileSync(fx.recorderAudioWebm, file);
    expect((await fixWebmDuration(file, file, tools)).fixed).toBe(true);
    expect(Math.abs(Number((await ffprobeJson(file)).format?.duration) * 1000 - SECONDS_MS)).toBeLessThanOrEqual(100);
    expect(fs.readdirSync(dir)).toEqual(['rec.webm']);
  });

  it('leaves a WebM that has a duration alone', async () => {
    const target = path.join(out, 'untouched.webm');
    const r = await fixWebmDuration(fx.webm, target, tools);
    expect(r).toEqual({ fixed: false, durationMs: expect.any(Number) });
    expect(fs.existsSync(target)).toBe(false);
  });

  it('keeps Matroska as Matroska', async () => {
    const live = path.join(out, 'live.mkv');
    await exec('sh', [
      '-c',
      'ffmpeg -nostdin -loglevel error -i "$1" -c copy -f matroska -live 1 pipe:1 > "$2"',
      'sh',
      fx.webm,
      live,
    ]);
    const target = path.join(out, 'fixed.mkv');
    expect((await fixWebmDuration(live, target, tools)).fixed).toBe(true);
    expect(sniff(await readHead(target))).toMatchObject({ container: 'matroska' });
  });

  it('refuses what is not WebM or Matroska', async () => {
    await expect(fixWebmDuration(fx.mp4, path.join(out, 'x.webm'), tools)).rejects.toThrow(
      /needs WebM or Matroska; .* is video\/mp4/,
    );
  });

  it('fails with the reason, and writes nothing, without ffmpeg', async () => {
    const target = path.join(out, 'never.webm');
    await expect(fixWebmDuration(fx.recorderWebm, target, MISSING)).rejects.toThrow(/not found or not executable/);
    expect(fs.existsSync(target)).toBe(false);
  });
});

/** Pixels of a JPEG close to an RGB colour, as a fraction of all pixels. */
async function colourShare(jpeg: string, rgb: [number, number, number]): Promise<number> {
  const { stdout } = await exec(
    'ffmpeg',
    ['-loglevel', 'error', '-i', jpeg, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
    {
      encoding: 'buffer',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  let near = 0;
  for (let i = 0; i < stdout.length; i += 3) {
    if (Math.abs(stdout[i]! - rgb[0]) + Math.abs(stdout[i + 1]! - rgb[1]) + Math.abs(stdout[i + 2]! - rgb[2]) < 60)
      near++;
  }
  return near / (stdout.length / 3);
}

describe('makeThumbnail', () => {
  const isJpeg = (file: string) =>
    fs
      .readFileSync(file)
      .subarray(0, 3)
      .equals(Buffer.from([0xff, 0xd8, 0xff]));
  const size = async (file: string) => {
    const s = (await ffprobeJson(file)).streams?.[0];
    return { codec: s?.codec_name, width: s?.width, height: s?.height };
  };

  it('takes a 640-wide JPEG frame from 10% into a video, keeping the aspect ratio', async () => {
    const jpg = path.join(out, 'video.jpg');
    const r = await makeThumbnail(fx.webm, jpg, tools);
    expect(r.kind).toBe('frame');
    expect(r.atMs).toBeGreaterThanOrEqual(250);
    expect(r.atMs).toBeLessThanOrEqual(350);
    expect(isJpeg(jpg)).toBe(true);
    expect(await size(jpg)).toEqual({ codec: 'mjpeg', width: 640, height: 480 });
  });

  it('clamps a time past the end, and honours the width', async () => {
    const jpg = path.join(out, 'late.jpg');
    const r = await makeThumbnail(fx.mp4, jpg, tools, { atMs: 60_000, width: 200 });
    expect(r.kind).toBe('frame');
    expect(r.atMs).toBeLessThan(SECONDS_MS);
    expect(await size(jpg)).toEqual({ codec: 'mjpeg', width: 200, height: 150 });
  });

  it('works on a WebM without a header duration', async () => {
    const jpg = path.join(out, 'recorder.jpg');
    expect((await makeThumbnail(fx.recorderWebm, jpg, tools)).kind).toBe('frame');
    expect(isJpeg(jpg)).toBe(true);
  });

  it.each(['ogg', 'recorderAudioWebm'] as const)('draws a waveform JPEG for audio-only %s', async (name) => {
    const jpg = path.join(out, `${name}.jpg`);
    expect(await makeThumbnail(fx[name], jpg, tools)).toEqual({ kind: 'waveform' });
    expect(isJpeg(jpg)).toBe(true);
    expect(await size(jpg)).toEqual({ codec: 'mjpeg', width: 640, height: 360 });
    // A drawn wave on a light background, not a blank picture.
    expect(await colourShare(jpg, [0x25, 0x63, 0xeb])).toBeGreaterThan(0.02);
    expect(await colourShare(jpg, [0xf8, 0xfa, 0xfc])).toBeGreaterThan(0.3);
  });

  it('leaves no file behind when it fails', async () => {
    const jpg = path.join(out, 'bad.jpg');
    await expect(makeThumbnail(fx.text, jpg, tools)).rejects.toThrow(/Invalid data/);
    expect(fs.existsSync(jpg)).toBe(false);
  });
});

describe('without ffmpeg', () => {
  it('reports what is missing, and the pure-TypeScript duration still works', async () => {
    const report = await detectTools({ FFMPEG_PATH: '/nonexistent' });
    expect(report.tools).toBeNull();
    expect(report.ffmpeg.available).toBe(false);
    expect(Math.abs((await probeDuration(fx.recorderWebm)) - SECONDS_MS)).toBeLessThanOrEqual(100);
    await expect(probe(fx.webm, MISSING)).rejects.toMatchObject({ failure: 'missing' });
    await expect(makeThumbnail(fx.webm, path.join(out, 'none.jpg'), MISSING)).rejects.toBeInstanceOf(MediaToolError);
  });
});
