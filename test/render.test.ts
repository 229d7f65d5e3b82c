/**
 * The render (src/server/media/render.ts, render-run.ts): each edit type rendered by ffmpeg from a tiny
 * generated recording and checked on the output with ffprobe/ffmpeg — durations after trims, the crop's
 * frame, a filtered frame's mean colour, text pixels only in the text's time range (source time, across a
 * trim), audio levels with volumedetect — and the failures: ffmpeg refusing, a missing font.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Edit, type FilterName, foldEdits } from '../src/shared/edits.js';
import { resolveTools } from '../src/server/media/ffmpeg.js';
import { filterGraph, type RenderSource } from '../src/server/media/render.js';
import { cleanFfmpegError, RenderError, renderToFile } from '../src/server/media/render-run.js';
import {
  frameStats,
  makeRenderMedia,
  meanColour,
  meanVolume,
  measure,
  RENDER_HEIGHT,
  RENDER_SECONDS,
  RENDER_WIDTH,
  type RenderMedia,
} from './support/render-media.js';

const tools = resolveTools();
let media: RenderMedia;
let outputs = 0;

beforeAll(async () => {
  media = await makeRenderMedia();
});
afterAll(() => media?.cleanup());

function sourceOf(file: string, kind: 'video' | 'audio' = 'video'): RenderSource {
  const video = kind === 'video';
  return {
    file,
    hasVideo: video,
    hasAudio: true,
    family: file.endsWith('.mp4') ? 'mp4' : 'webm',
    width: video ? RENDER_WIDTH : null,
    height: video ? RENDER_HEIGHT : null,
  };
}

async function render(file: string, edits: Edit[], kind: 'video' | 'audio' = 'video', fontFile?: string) {
  const state = foldEdits(RENDER_SECONDS, edits);
  const progress: number[] = [];
  const out = path.join(media.dir, `out-${++outputs}`);
  const output = await renderToFile(state, sourceOf(file, kind), RENDER_SECONDS, out, tools, {
    onProgress: (p) => progress.push(p),
    fontFile,
  });
  return { out, output, progress, info: await measure(out) };
}

const trim = (start: number, end: number, mode?: 'cut'): Edit => ({
  type: 'trim',
  parameters: { start, end, ...(mode ? { mode } : {}) },
});
const filter = (name: FilterName, amount: number): Edit => ({
  type: 'filter',
  parameters: { name, amount },
});
const text = (over: Partial<Extract<Edit, { type: 'text_overlay' }>['parameters']> = {}): Edit => ({
  type: 'text_overlay',
  parameters: { text: 'HELLO', x: 0.1, y: 0.3, from: 1, to: 2, size: 0.3, color: '#ffffff', background: null, ...over },
});

describe('trim', () => {
  it('keeps one range of a WebM: VP9/Opus WebM of that length, progress up to 1', async () => {
    const { output, info, progress } = await render(media.webm, [trim(1, 3)]);
    expect(output).toEqual({ extension: 'webm', mimeType: 'video/webm', format: 'webm' });
    expect(info).toMatchObject({ video: { codec: 'vp9', width: 160, height: 120 }, audio: { codec: 'opus' } });
    expect(Math.abs(info.durationSeconds - 2)).toBeLessThanOrEqual(0.1);
    expect(progress.at(-1)).toBe(1);
    expect(progress.every((p, i) => p >= 0 && p <= 1 && (i === 0 || p >= progress[i - 1]!))).toBe(true);
  });

  it('cuts two middle ranges of an MP4 into H.264/AAC MP4', async () => {
    const { output, info } = await render(media.mp4, [trim(1, 2, 'cut'), trim(2.5, 3, 'cut')]);
    expect(output.mimeType).toBe('video/mp4');
    expect(info).toMatchObject({ video: { codec: 'h264' }, audio: { codec: 'aac' } });
    expect(Math.abs(info.durationSeconds - 2.5)).toBeLessThanOrEqual(0.1);
  });

  it('keeps a range of an audio-only recording as Opus WebM audio', async () => {
    const { output, info } = await render(media.audioWebm, [trim(0.5, 2)], 'audio');
    expect(output.mimeType).toBe('audio/webm');
    expect(info.video).toBeUndefined();
    expect(info.audio?.codec).toBe('opus');
    expect(Math.abs(info.durationSeconds - 1.5)).toBeLessThanOrEqual(0.1);
  });
});

describe('crop', () => {
  it('renders the crop box as the frame', async () => {
    const { info } = await render(media.webm, [{ type: 'crop', parameters: { x: 20, y: 10, width: 80, height: 60 } }]);
    expect(info.video).toMatchObject({ width: 80, height: 60 });
    expect(Math.abs(info.durationSeconds - RENDER_SECONDS)).toBeLessThanOrEqual(0.1);
  });
});

describe('filters move a frame’s mean colour the right way', () => {
  let before: [number, number, number];
  const luma = ([r, g, b]: number[]) => 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
  beforeAll(async () => {
    before = await meanColour(media.flatWebm, 1);
    expect(before[2]).toBeGreaterThan(before[0] + 60); // blue-grey: much more blue than red
  });

  it('brightness up and down', async () => {
    const up = await meanColour((await render(media.flatWebm, [filter('brightness', 0.3)])).out, 1);
    const down = await meanColour((await render(media.flatWebm, [filter('brightness', -0.3)])).out, 1);
    expect(luma(up)).toBeGreaterThan(luma(before) + 40);
    expect(luma(down)).toBeLessThan(luma(before) - 40);
  });

  it('contrast (eq: on luma) 2 moves the frame away from mid-grey; 0.5 pulls it closer', async () => {
    const distance = (rgb: number[]) => Math.abs(luma(rgb) - 128);
    const more = await meanColour((await render(media.flatWebm, [filter('contrast', 2)])).out, 1);
    const less = await meanColour((await render(media.flatWebm, [filter('contrast', 0.5)])).out, 1);
    expect(distance(more)).toBeGreaterThan(distance(before) + 10);
    expect(distance(less)).toBeLessThan(distance(before) - 5);
  });

  it('saturation 0 and grayscale 1 leave grey; grayscale 0.5 half way', async () => {
    for (const edit of [filter('saturation', 0), filter('grayscale', 1)]) {
      const [r, g, b] = await meanColour((await render(media.flatWebm, [edit])).out, 1);
      expect(Math.max(r, g, b) - Math.min(r, g, b)).toBeLessThanOrEqual(6);
    }
    const [r, , b] = await meanColour((await render(media.flatWebm, [filter('grayscale', 0.5)])).out, 1);
    expect(b - r).toBeGreaterThan(15);
    expect(b - r).toBeLessThan(before[2] - before[0] - 15);
  });

  it('sepia turns blue-grey brown: red above green above blue', async () => {
    const [r, g, b] = await meanColour((await render(media.flatWebm, [filter('sepia', 1)])).out, 1);
    expect(r).toBeGreaterThan(g);
    expect(g).toBeGreaterThan(b);
  });

  it('blur softens the edges (the mean of an edge detection drops)', async () => {
    const edges = (file: string) => frameStats(file, 1, 'edgedetect,');
    const sharp = (await edges(media.webm)).YAVG!;
    const blurred = (await edges((await render(media.webm, [filter('blur', 6)])).out)).YAVG!;
    expect(blurred).toBeLessThan(sharp / 2);
  });
});

describe('text overlay', () => {
  it('draws the text only in its range of the original, whatever was trimmed before it', async () => {
    // keep 0.5..4 of the original: the text's 1..2 s of the original is 0.5..1.5 s of the output
    const { out, info } = await render(media.blackWebm, [trim(0.5, 4), text()]);
    expect(Math.abs(info.durationSeconds - 3.5)).toBeLessThanOrEqual(0.1);
    expect((await frameStats(out, 0.2)).YMAX).toBeLessThan(60);
    expect((await frameStats(out, 1.0)).YMAX).toBeGreaterThan(200);
    expect((await frameStats(out, 2.2)).YMAX).toBeLessThan(60);
  });

  it('places it on the cropped frame, with its background box; hostile text is drawn verbatim', async () => {
    const crop: Edit = { type: 'crop', parameters: { x: 0, y: 0, width: 80, height: 60 } };
    const boxed = text({ text: "It's 100% a:b \\ %{pts} ' ; [x]", background: '#ff0000', from: 0, to: 4 });
    const { out, info } = await render(media.blackWebm, [crop, boxed]);
    expect(info.video).toMatchObject({ width: 80, height: 60 });
    const [r, g, b] = await meanColour(out, 1);
    expect(r).toBeGreaterThan(g + 20);
    expect(r).toBeGreaterThan(b + 20);
  });

  it('a missing font fails the render with a clear reason', async () => {
    const err = await render(media.blackWebm, [text()], 'video', '/nonexistent/DejaVuSans.ttf').catch((e) => e);
    expect(err).toBeInstanceOf(RenderError);
    expect(err.message).toContain('fonts-dejavu-core');
  });
});

describe('audio', () => {
  let original: number;
  beforeAll(async () => {
    original = await meanVolume(media.webm);
  });

  it('gain changes the level by its decibels; mute silences', async () => {
    const quieter = await meanVolume((await render(media.webm, [{ type: 'audio', parameters: { gain_db: -12 } }])).out);
    expect(Math.abs(quieter - (original - 12))).toBeLessThanOrEqual(1.5);
    const muted = await meanVolume((await render(media.webm, [{ type: 'audio', parameters: { mute: true } }])).out);
    expect(muted).toBeLessThan(-80);
  });

  it('fades at the start and the end of what is kept', async () => {
    const edits: Edit[] = [trim(1, 4), { type: 'audio', parameters: { fade_in: 1, fade_out: 1 } }];
    const { out, info } = await render(media.webm, edits);
    expect(Math.abs(info.durationSeconds - 3)).toBeLessThanOrEqual(0.1);
    const middle = await meanVolume(out, 1.2, 0.6);
    expect(Math.abs(middle - original)).toBeLessThanOrEqual(1.5);
    expect(await meanVolume(out, 0, 0.4)).toBeLessThan(middle - 6);
    expect(await meanVolume(out, 2.6, 0.4)).toBeLessThan(middle - 6);
  });

  it('denoise renders and keeps the tone', async () => {
    const { out } = await render(media.webm, [{ type: 'audio', parameters: { denoise: true } }]);
    expect(await meanVolume(out)).toBeGreaterThan(original - 6);
  });
});

describe('failures and the graph', () => {
  it('ffmpeg refusing the input is a RenderError with its last lines and no server path', async () => {
    const notMedia = path.join(media.dir, 'not-media.webm');
    await import('node:fs/promises').then((fs) => fs.writeFile(notMedia, 'this is not a recording'));
    const err = await render(notMedia, [trim(0, 1)]).catch((e) => e);
    expect(err).toBeInstanceOf(RenderError);
    expect(err.message).toMatch(/Invalid data|could not|Error/i);
    expect(err.message).not.toContain(media.dir);
    expect(err.message).not.toMatch(/\/tmp\//);
  });

  it('cleanFfmpegError keeps the last lines and hides paths', () => {
    const stderr = 'a\nb\nc\nd\ne\n[in @ 0x1] file:/srv/data/users/u1/x.webm: Invalid data found\n';
    expect(cleanFfmpegError(stderr, ['/srv/data'])).toBe('b | c | d | e | [in @ 0x1] …: Invalid data found');
  });

  it('a state that keeps everything has no trim; several ranges are split and concatenated', () => {
    const opts = { fontFile: '/f.ttf', textFiles: [] };
    const all = filterGraph(foldEdits(4, []), sourceOf('x'), 4, opts).graph;
    expect(all).not.toContain('trim');
    const two = filterGraph(foldEdits(4, [trim(1, 2, 'cut')]), sourceOf('x'), 4, opts).graph;
    expect(two).toContain('split=2');
    expect(two).toContain('concat=n=2:v=1:a=1');
  });
});
