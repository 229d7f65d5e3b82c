/**
 * The recorder core in real Chromium (/usr/bin/chromium, fake camera/microphone/screen): every mode
 * records a take whose slices arrive about once a second and whose file the browser decodes to the
 * recorded duration. The harness page is built from test/e2e/fixtures with Vite and served on 127.0.0.1
 * (a secure context, which getUserMedia needs).
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness, TakeOptions, TakeResult } from './fixtures/recorder-harness.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const resultsDir = path.join(repo, 'test-results');

/** A small PDF with one full-page coloured rectangle per page (red, green, blue), xref offsets exact. */
function colourPdf(colours: [number, number, number][]): Buffer {
  const objs: string[] = [];
  const pageIds = colours.map((_, i) => 3 + i * 2);
  objs[1] = '<< /Type /Catalog /Pages 2 0 R >>';
  objs[2] = `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${colours.length} >>`;
  colours.forEach(([r, g, b], i) => {
    const content = `${r} ${g} ${b} rg 0 0 800 450 re f\n1 1 1 rg 40 40 120 60 re f\n`;
    objs[3 + i * 2] =
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 800 450] /Contents ${4 + i * 2} 0 R /Resources << >> >>`;
    objs[4 + i * 2] = `<< /Length ${Buffer.byteLength(content)} >>\nstream\n${content}endstream`;
  });
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  for (let id = 1; id < objs.length; id++) {
    offsets[id] = Buffer.byteLength(out);
    out += `${id} 0 obj\n${objs[id]}\nendobj\n`;
  }
  const xref = Buffer.byteLength(out);
  out += `xref\n0 ${objs.length}\n0000000000 65535 f \n`;
  for (let id = 1; id < objs.length; id++) out += `${String(offsets[id]).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objs.length} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.css': 'text/css',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
};

let tmp: string;
let server: http.Server;
let ctx: BrowserContext;
let page: Page;
let origin: string;
const pdf = colourPdf([
  [1, 0, 0],
  [0, 1, 0],
  [0, 0, 1],
]).toString('base64');

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-core-e2e-'));
  const outDir = path.join(tmp, 'dist');
  await build({
    root: path.join(here, 'fixtures'),
    configFile: false,
    logLevel: 'warn',
    publicDir: false,
    envDir: false,
    build: {
      outDir,
      emptyOutDir: true,
      target: 'es2022',
      minify: false,
      chunkSizeWarningLimit: 5000,
      rolldownOptions: { input: path.join(here, 'fixtures/recorder-harness.html') },
    },
  });
  server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = path.join(outDir, rel === '/' ? 'recorder-harness.html' : rel);
    if (!file.startsWith(outDir) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

  ctx = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1000, height: 700 },
    args: [
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--auto-select-desktop-capture-source=Entire screen',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
  page = ctx.pages()[0] ?? (await ctx.newPage());
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ready');
  fs.mkdirSync(resultsDir, { recursive: true });
}, 120_000);

afterAll(async () => {
  await ctx?.close();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Calls a harness function in the page; the types come from the harness module itself. */
function rc<K extends keyof Harness>(fn: K, arg: Parameters<Harness[K]>[0]): ReturnType<Harness[K]> {
  const call = ([f, a]: [string, unknown]) =>
    (window as unknown as { rc: Record<string, (x: unknown) => Promise<unknown>> }).rc[f]!(a);
  return page.evaluate(call, [fn, arg] as [string, unknown]) as ReturnType<Harness[K]>;
}

/** Chunks about once a second, a decodable file of the recorded duration, the expected container. */
function expectGoodTake(
  r: TakeResult,
  expected: { mime: RegExp; recordedMs: number; video: boolean; paused?: boolean },
) {
  if (process.env.RECORDER_E2E_DEBUG) console.info(JSON.stringify(r.chunks));
  expect(r.mimeType).toMatch(expected.mime);
  expect(r.blobType).toBe(r.mimeType);
  expect(r.head).toEqual([0x1a, 0x45, 0xdf, 0xa3]); // EBML: a WebM file
  expect(r.chunks.map((c) => c.seq)).toEqual(r.chunks.map((_, i) => i));
  expect(r.durationMs).toBeGreaterThan(expected.recordedMs - 150);
  expect(r.durationMs).toBeLessThan(expected.recordedMs + 600);
  // ~1 s slices: all but the final one (cut by stop) arrive a second apart. Chromium's slice timer keeps
  // running while paused, so across a pause only the count is checked.
  const full = r.chunks.slice(0, -1);
  expect(full.length).toBeGreaterThanOrEqual(Math.floor(expected.recordedMs / 1000) - 1);
  expect(r.chunks.length).toBeLessThanOrEqual(Math.ceil(expected.recordedMs / 1000) + (expected.paused ? 2 : 1));
  for (let i = 1; i < full.length && !expected.paused; i++) {
    expect(Math.abs(full[i]!.elapsedMs - full[i - 1]!.elapsedMs - 1000)).toBeLessThan(350);
    expect(Math.abs(full[i]!.wallMs - full[i - 1]!.wallMs - 1000)).toBeLessThan(350);
  }
  expect(r.blobSize).toBe(r.chunks.reduce((n, c) => n + c.size, 0));
  expect(r.blobSize).toBeGreaterThan(1000);
  expect(Math.abs(r.decoded.duration * 1000 - r.durationMs)).toBeLessThan(700);
  if (expected.video) expect(r.decoded.width).toBeGreaterThan(0);
  else expect(r.decoded.width).toBe(0);
}

describe('recorder core in Chromium', () => {
  it('lists the fake devices', async () => {
    const d = await rc('listDevices', undefined);
    expect(d.cameras).toBeGreaterThanOrEqual(1);
    expect(d.mics).toBeGreaterThanOrEqual(1);
  });

  it('camera: VP9/Opus WebM, pause excluded from the duration', async () => {
    const r = await rc('take', { mode: 'camera', quality: 'low', segments: [1200, 1000, 1100] } satisfies TakeOptions);
    expectGoodTake(r, { mime: /^video\/webm;codecs=vp9,opus$/, recordedMs: 2300, video: true, paused: true });
    expect(r.states).toEqual(['recording', 'paused', 'recording', 'stopped']);
    expect(r.trackKinds.sort()).toEqual(['audio', 'video']);
    expect(r.decoded.width / r.decoded.height).toBeCloseTo(16 / 9, 1);
    const info = JSON.stringify(r.deviceInfo);
    expect(r.deviceInfo.userAgent).toMatch(/Chrome/);
    expect(info).toContain('fake_device_0');
    expect(info).not.toMatch(/deviceId|groupId/);
    expect(r.maxLevel).toBeGreaterThan(0.01); // the fake microphone beeps
  });

  it('audio: Opus in WebM, no video track', async () => {
    const r = await rc('take', { mode: 'audio', quality: 'medium', segments: [2200] });
    expectGoodTake(r, { mime: /^audio\/webm;codecs=opus$/, recordedMs: 2200, video: false });
    expect(r.trackKinds).toEqual(['audio']);
    expect(r.maxLevel).toBeGreaterThan(0.01);
  });

  it('screen: getDisplayMedia headless, system audio and microphone mixed into one track', async () => {
    const r = await rc('take', { mode: 'screen', quality: 'medium', segments: [2200] });
    expectGoodTake(r, { mime: /^video\/webm;codecs=vp9,opus$/, recordedMs: 2200, video: true });
    expect(r.trackKinds.sort()).toEqual(['audio', 'video']);
    const tracks = r.deviceInfo.tracks as Record<string, { label: string; settings: Record<string, unknown> }[]>;
    expect(tracks.screen!.map((t) => t.settings.displaySurface ?? 'audio')).toContain('monitor');
    expect(tracks.microphone).toHaveLength(1);
  });

  it('screen-camera: composited at the quality size with the camera bubble', async () => {
    const r = await rc('take', { mode: 'screen-camera', quality: 'low', segments: [2200] });
    expectGoodTake(r, { mime: /^video\/webm;codecs=vp9,opus$/, recordedMs: 2200, video: true });
    expect([r.decoded.width, r.decoded.height]).toEqual([854, 480]);
    expect(r.frames).toBeGreaterThan(24); // the worker clock drove the canvas (24 fps for ~2 s)
    await page.screenshot({ path: path.join(resultsDir, 'recorder-core-screen-camera.png') });
  });

  it('slides (images): slide changes timed, the composited frame shows the new slide', async () => {
    const r = await rc('take', {
      mode: 'slides',
      quality: 'low',
      segments: [2200],
      slides: 'images',
      nextSlideAtMs: 1000,
      sampleAt: { t: 1.8, x: 0.3, y: 0.3 },
    });
    expectGoodTake(r, { mime: /^video\/webm;codecs=vp9,opus$/, recordedMs: 2200, video: true });
    expect(r.slideChanges).toHaveLength(2);
    expect(r.slideChanges[0]).toEqual({ index: 0, atMs: 0 });
    expect(r.slideChanges[1]!.index).toBe(1);
    expect(Math.abs(r.slideChanges[1]!.atMs - 1000)).toBeLessThan(250);
    const [red, green, blue] = r.centrePixel!;
    expect(green).toBeGreaterThan(120); // slide 2 is green (#30a050)
    expect(red).toBeLessThan(90);
    expect(blue).toBeLessThan(120);
    // …and so does the recorded file, decoded by the browser 0.8 s after the change.
    const [fr, fg, fb] = r.decoded.pixel!;
    expect(fg).toBeGreaterThan(120);
    expect(fr).toBeLessThan(90);
    expect(fb).toBeLessThan(120);
    await page.screenshot({ path: path.join(resultsDir, 'recorder-core-slides.png') });
  });

  it('slides-camera (PDF): pages render in order, take records', async () => {
    const pages = await rc('pdfPageColours', pdf);
    expect(pages.count).toBe(3);
    expect(pages.colours).toEqual([
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
    ]);
    const r = await rc('take', {
      mode: 'slides-camera',
      quality: 'low',
      segments: [2100],
      slides: 'pdf',
      pdfBase64: pdf,
      nextSlideAtMs: 800,
      sampleAt: { t: 0.4, x: 0.5, y: 0.3 },
    });
    expectGoodTake(r, { mime: /^video\/webm;codecs=vp9,opus$/, recordedMs: 2100, video: true });
    expect(r.centrePixel).toEqual([0, 255, 0]);
    // The file's first second shows page 1 (red), drawn from the PDF through the compositor.
    const [fr, fg, fb] = r.decoded.pixel!;
    expect(fr).toBeGreaterThan(200);
    expect(fg).toBeLessThan(60);
    expect(fb).toBeLessThan(60);
    expect(r.slideChanges.map((c) => c.index)).toEqual([0, 1]);
    await page.screenshot({ path: path.join(resultsDir, 'recorder-core-slides-camera.png') });
  });

  it('a stopped screen share ends the take with that reason; the file is still whole', async () => {
    const r = await rc('take', { mode: 'screen', quality: 'low', segments: [4000], endShareAtMs: 1600 });
    expect(r.stopReason).toEqual({
      code: 'screen-share-stopped',
      message: expect.stringContaining('Screen sharing was stopped'),
    });
    expect(r.states.at(-1)).toBe('stopped');
    expect(r.durationMs).toBeGreaterThan(1500);
    expect(r.durationMs).toBeLessThan(2000);
    expect(Math.abs(r.decoded.duration * 1000 - r.durationMs)).toBeLessThan(700);
  });

  it('a camera that does not exist is a readable problem, and nothing stays acquired', async () => {
    const r = await rc('acquireProblem', { mode: 'camera', cameraId: 'no-such-camera' });
    expect(r.name).toBe('MediaProblemError');
    expect(r.problem).toEqual({
      code: 'no-device',
      message: 'The selected camera or microphone is not available anymore. Choose another one and try again.',
    });
  });
});
