/**
 * The editor in a real Chromium (issue 12): a 6 s recording made by ffmpeg (testsrc2 + a tone, VP9 +
 * Opus) uploaded through tus; in the editor a trim, a crop and a text overlay, undo twice (button and
 * Ctrl+Z), redo once, a reload with the history intact, the preview skipping the trimmed part, a render
 * into a version, the version played as the current one, and the original made current again. A second
 * tab's stale change is refused and the page shows the server's history; a new edit drops the redo
 * branch. An audio recording: cut by the timeline's handles, volume and mute through Web Audio.
 * Everything asserted is what a user sees: history lines, the preview canvas, the player's duration.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { Page } from 'playwright-core';
import { printProblems, screenshot, type LaunchedBrowser } from '../support/browser.js';
import { clock } from '../../src/shared/edit-words.ts';
import { signUp } from '../support/app.js';
import { type E2eServer, processed, withServerAndBrowser } from '../support/e2e.js';
import { createUpload, patchUpload } from '../support/tus-http.js';

const SECONDS = 6;
const WIDTH = 320;
const HEIGHT = 240;

let server: E2eServer;
let browser: LaunchedBrowser;
withServerAndBrowser((s) => {
  server = s.server;
  browser = s.b;
});

let dir: string;
let recordingId: string;
let audioId: string;
let user: Awaited<ReturnType<typeof signUp>>;

/** A 6 s take by ffmpeg: testsrc2 and a tone (VP9 + Opus WebM), or the tone alone. */
function makeTake(file: string, audioOnly: boolean): void {
  const r = spawnSync('ffmpeg', [
    ...['-nostdin', '-hide_banner', '-loglevel', 'error', '-y'],
    ...(audioOnly ? [] : ['-f', 'lavfi', '-i', `testsrc2=size=${WIDTH}x${HEIGHT}:rate=15:duration=${SECONDS}`]),
    ...['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${SECONDS}`],
    ...(audioOnly ? [] : ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '200k']),
    ...['-c:a', 'libopus', '-b:a', '32k', file],
  ]);
  if (r.status !== 0) throw new Error(`ffmpeg: ${r.stderr?.toString()}`);
}

/** Uploads a file through tus as the test user; returns the recording's id. */
async function upload(file: string, recordingType: string, title: string): Promise<string> {
  const bytes = fs.readFileSync(file);
  const meta = { recordingType, title, filetype: 'video/webm' };
  const up = await createUpload(server.url, user.headers, meta, { length: bytes.length });
  expect(up.status).toBe(201);
  const done = await patchUpload(up.location, user.headers, 0, bytes);
  expect(done.status).toBe(204);
  return done.headers.get('recording-id')!;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-editor-e2e-'));
  makeTake(path.join(dir, 'take.webm'), false);
  makeTake(path.join(dir, 'voice.webm'), true);
  user = await signUp(server.url, 'editor');
  recordingId = await upload(path.join(dir, 'take.webm'), 'camera', 'Editor take');
  audioId = await upload(path.join(dir, 'voice.webm'), 'audio', 'Voice take');
  const [name, value] = user.cookie.split(';')[0]!.split('=') as [string, string];
  await browser.context.addCookies([{ name, value, url: server.url }]);
  const page = await browser.context.newPage();
  await processed(page, server.url, recordingId);
  await processed(page, server.url, audioId);
  await page.close();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function newPage(label: string): Promise<Page> {
  const page = await browser.context.newPage();
  onTestFailed(async () => {
    printProblems(browser, label);
    await screenshot(page, `failed-editor-${label}`).catch(() => undefined);
  });
  return page;
}

const historyLines = (page: Page) =>
  page
    .getByTestId('history')
    .locator('li')
    .evaluateAll((lis) => lis.map((li) => `${li.getAttribute('data-state')}: ${li.firstChild?.textContent ?? ''}`));
const canvasSays = (page: Page, key: string) => page.getByTestId('preview').getAttribute(`data-${key}`);
const canvasSize = (page: Page) =>
  page.getByTestId('preview').evaluate((c: HTMLCanvasElement) => `${c.width}×${c.height}`);
const media = (page: Page) => page.getByTestId('editor-media');
const previewFontLoaded = () =>
  [...document.fonts].some((f) => f.family.includes('Recorder DejaVu Sans') && f.status === 'loaded');

async function seekPreview(page: Page, t: number): Promise<void> {
  await media(page).evaluate(async (el: HTMLMediaElement, to: number) => {
    if (el.readyState < 2) await new Promise((r) => el.addEventListener('loadeddata', r, { once: true }));
    const seeked = new Promise((r) => el.addEventListener('seeked', r, { once: true }));
    el.currentTime = to;
    await seeked;
  }, t);
}

async function openEditor(page: Page, id = recordingId): Promise<void> {
  await page.goto(`${server.url}/recordings/${id}/edit`);
  await page.getByRole('heading', { name: /^Edit “/ }).waitFor({ timeout: 30_000 });
  await page.getByRole('button', { name: 'Undo' }).waitFor();
  // The first frame is on the canvas once the preview drew it.
  if (id === recordingId) await expect.poll(() => canvasSays(page, 'crop'), { timeout: 30_000 }).not.toBeNull();
}

/** The player page's media duration (the current version, or the original). */
async function playerDuration(page: Page): Promise<{ duration: number; size: string }> {
  await page.goto(`${server.url}/recordings/${recordingId}`);
  const player = page.getByTestId('player');
  await player.waitFor({ timeout: 30_000 });
  return player.evaluate(async (el: HTMLVideoElement) => {
    if (el.readyState < 1) await new Promise((r) => el.addEventListener('loadedmetadata', r, { once: true }));
    if (el.duration === Number.POSITIVE_INFINITY)
      await new Promise((r) => el.addEventListener('durationchange', r, { once: true }));
    return { duration: el.duration, size: `${el.videoWidth}×${el.videoHeight}` };
  });
}

describe('the editor', () => {
  it('trims, crops and adds text; undo twice, redo once; the history survives a reload', async () => {
    const page = await newPage('edits');
    await page.goto(`${server.url}/recordings/${recordingId}`);
    await page.getByRole('link', { name: 'Edit', exact: true }).click();
    await page.waitForURL(/\/recordings\/\d+\/edit$/);
    await openEditor(page);
    expect(await canvasSize(page)).toBe(`${WIDTH}×${HEIGHT}`);
    await page.getByText(/^No edits yet\./).waitFor();

    // A keep trim: 1 s to 5 s.
    await page.getByLabel('From (s)').fill('1');
    await page.getByLabel('To (s)').fill('5');
    await page.getByRole('button', { name: 'Keep selection' }).click();
    await expect.poll(() => historyLines(page)).toEqual(['active: Kept 0:01.000–0:05.000']);
    await expect.poll(() => page.getByTestId('editor-clock').textContent()).toMatch(/\/ 0:04\.000$/);

    // A crop of the top-left quarter, typed in the crop panel.
    await page.getByRole('button', { name: 'Crop…' }).click();
    await page.getByTestId('crop-box').waitFor();
    expect(await canvasSize(page)).toBe(`${WIDTH}×${HEIGHT}`); // the whole frame while placing the box
    // Dragging the box's corner to the middle of the picture makes it about a quarter.
    await page.evaluate(() => window.scrollTo(0, 0));
    const stage = (await page.getByTestId('preview').boundingBox())!;
    const corner = (await page.locator('.crop-corner').boundingBox())!;
    await page.mouse.move(corner.x + corner.width / 2, corner.y + corner.height / 2);
    await page.mouse.down();
    await page.mouse.move(stage.x + stage.width / 2, stage.y + stage.height / 2, { steps: 5 });
    await page.mouse.up();
    expect(Math.abs(Number(await page.getByLabel('Width').inputValue()) - WIDTH / 2)).toBeLessThanOrEqual(10);
    expect(Math.abs(Number(await page.getByLabel('Height').inputValue()) - HEIGHT / 2)).toBeLessThanOrEqual(10);
    await page.getByLabel('Width').fill('160');
    await page.getByLabel('Height').fill('120');
    await page.getByRole('button', { name: 'Apply crop' }).click();
    await expect.poll(() => historyLines(page)).toContain('active: Cropped to 160×120 at 0, 0');
    await expect.poll(() => canvasSize(page)).toBe('160×120');
    expect(await canvasSays(page, 'crop')).toBe('0,0,160,120');

    // A text from 1 s to 4 s, shown on the canvas at 2 s and not at 4.5 s.
    await page.getByRole('button', { name: 'Add text…' }).click();
    await page.getByLabel('Words').fill('Hello editor');
    // The handle on the picture places it: dragged to the middle, its corner is at about (0.5, 0.5).
    await page.evaluate(() => window.scrollTo(0, 0)); // the site header is sticky: the handle must be below it
    const handle = (await page.getByTestId('text-handle').boundingBox())!;
    const cropped = (await page.getByTestId('preview').boundingBox())!;
    await page.mouse.move(handle.x + handle.width / 2, handle.y + handle.height / 2);
    await page.mouse.down();
    await page.mouse.move(cropped.x + cropped.width / 2, cropped.y + cropped.height / 2, { steps: 5 });
    await page.mouse.up();
    expect(Math.abs(Number(await page.getByLabel('Left (0–1)').inputValue()) - 0.5)).toBeLessThan(0.05);
    expect(Math.abs(Number(await page.getByLabel('Top (0–1)').inputValue()) - 0.5)).toBeLessThan(0.05);
    await page.getByLabel('Shows from (s)').fill('1');
    await page.getByLabel('until (s)').fill('4');
    await page.getByRole('button', { name: 'Add text', exact: true }).click();
    await expect.poll(() => historyLines(page)).toContain('active: Text “Hello editor” 0:01.000–0:04.000');
    expect(await page.getByTestId('history').locator('li').last().getAttribute('title')).toMatch(/^editor, /);
    await seekPreview(page, 2);
    await expect.poll(() => canvasSays(page, 'texts')).toBe('Hello editor');
    // drawn in the render's font, served by the app
    await expect.poll(() => page.evaluate(previewFontLoaded)).toBe(true);
    await seekPreview(page, 4.5);
    await expect.poll(() => canvasSays(page, 'texts')).toBe('');

    // Undo twice (the button, then Ctrl+Z), redo once (Ctrl+Shift+Z).
    await page.getByRole('button', { name: 'Undo' }).click();
    await expect.poll(() => historyLines(page)).toContain('undone: Text “Hello editor” 0:01.000–0:04.000');
    await page.locator('body').press('Control+z');
    await expect.poll(() => historyLines(page)).toContain('undone: Cropped to 160×120 at 0, 0');
    await expect.poll(() => canvasSize(page)).toBe(`${WIDTH}×${HEIGHT}`);
    await page.locator('body').press('Control+Shift+z');
    const after = [
      'active: Kept 0:01.000–0:05.000',
      'active: Cropped to 160×120 at 0, 0',
      'undone: Text “Hello editor” 0:01.000–0:04.000',
    ];
    await expect.poll(() => historyLines(page)).toEqual(after);
    await expect.poll(() => canvasSize(page)).toBe('160×120');
    await seekPreview(page, 2);
    await expect.poll(() => canvasSays(page, 'source-time')).toBe('2.000');
    expect(await canvasSays(page, 'texts')).toBe('');

    // A reload (a crash, another device): the same history and preview from the server.
    await page.reload();
    await openEditor(page);
    await expect.poll(() => historyLines(page)).toEqual(after);
    await expect.poll(() => canvasSize(page)).toBe('160×120');
    expect(await page.getByRole('button', { name: 'Redo' }).isEnabled()).toBe(true);

    // Playing skips the trimmed start and stops at the end of what is kept.
    await seekPreview(page, 0);
    await page.getByRole('button', { name: 'Play' }).click();
    await expect.poll(() => media(page).evaluate((el: HTMLMediaElement) => el.currentTime)).toBeGreaterThanOrEqual(1);
    await expect
      .poll(() => media(page).evaluate((el: HTMLMediaElement) => el.paused && el.currentTime), { timeout: 15_000 })
      .toBeCloseTo(5, 1);
    await page.close();
  });

  it('a stale change from another tab is refused and the page shows the latest history', async () => {
    const a = await newPage('tab-a');
    const b = await newPage('tab-b');
    await openEditor(a);
    await openEditor(b);
    await b.getByRole('button', { name: 'Undo' }).click();
    await expect.poll(() => historyLines(b)).toContain('undone: Cropped to 160×120 at 0, 0');
    // Tab A still holds the older revision: its redo is refused, and it adopts what B made.
    await a.getByRole('button', { name: 'Redo' }).click();
    await a.getByText(/changed in another tab/).waitFor();
    await expect.poll(() => historyLines(a)).toEqual(await historyLines(b));
    await a.getByRole('button', { name: 'Redo' }).click();
    await expect.poll(() => historyLines(a)).toContain('active: Cropped to 160×120 at 0, 0');
    // A new edit (a slider let go) drops the redo branch: the undone text stays listed, struck through.
    await a.getByRole('slider', { name: 'Grayscale' }).press('ArrowRight');
    await expect
      .poll(() => historyLines(a))
      .toEqual([
        'active: Kept 0:01.000–0:05.000',
        'active: Cropped to 160×120 at 0, 0',
        'dropped: Text “Hello editor” 0:01.000–0:04.000',
        'active: Grayscale 0.05',
      ]);
    expect(await a.locator('[data-testid="history"] li[data-state="dropped"] s').count()).toBe(1);
    await expect.poll(() => canvasSays(a, 'filter')).toBe('grayscale(0.05)');
    expect(await a.getByRole('button', { name: 'Redo' }).isEnabled()).toBe(false);
    await a.close();
    await b.close();
  });

  it('renders a version, plays it as the current one, and makes the original current again', async () => {
    const page = await newPage('versions');
    await openEditor(page);
    await page.getByRole('button', { name: 'Save as new version' }).click();
    const row = page.locator('[data-testid="versions"] li[data-version]:not([data-version="original"])').first();
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 120_000 }).toBe('ready');
    // A finished render is what the recording looks like now: the server made it current.
    await expect.poll(() => row.getAttribute('data-current')).toBe('true');
    expect(await row.getByRole('button', { name: 'Make current' }).count()).toBe(0);

    const version = await playerDuration(page);
    expect(Math.abs(version.duration - 4)).toBeLessThan(0.15);
    expect(version.size).toBe('160×120');

    await openEditor(page);
    // The editor still edits the original while a version is current: its source is the 320×240 original.
    await expect
      .poll(() => media(page).evaluate((el: HTMLVideoElement) => `${el.videoWidth}×${el.videoHeight}`))
      .toBe(`${WIDTH}×${HEIGHT}`);
    const original = page.locator('[data-testid="versions"] li[data-version="original"]');
    await original.getByRole('button', { name: 'Make current' }).click();
    await expect.poll(() => original.getAttribute('data-current')).toBe('true');
    await expect.poll(() => canvasSize(page)).toBe('160×120');

    const back = await playerDuration(page);
    expect(Math.abs(back.duration - SECONDS)).toBeLessThan(0.15);
    expect(back.size).toBe(`${WIDTH}×${HEIGHT}`);

    // The library card's menu opens the editor too; there the version can be deleted (after a confirmation).
    await page.goto(`${server.url}/`);
    const card = page.locator(`[data-testid="recording-card"][data-id="${recordingId}"]`);
    await card.getByRole('button', { name: 'Actions for Editor take' }).click();
    await card.getByRole('link', { name: 'Edit', exact: true }).click();
    await page.waitForURL(/\/recordings\/\d+\/edit$/);
    await openEditor(page);
    // Made current again by hand, then deleted: the original plays again.
    await row.getByRole('button', { name: 'Make current' }).click();
    await expect.poll(() => row.getAttribute('data-current')).toBe('true');
    await row.getByRole('button', { name: 'Delete version 1' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Yes, remove it' }).click();
    await expect.poll(() => row.count()).toBe(0);
    expect(await original.getAttribute('data-current')).toBe('true');
    await page.close();
  });

  it('edits an audio recording: the timeline handles cut a range, volume and mute through Web Audio', async () => {
    const page = await newPage('audio');
    await openEditor(page, audioId);
    // An audio recording has no picture: no crop, filters or texts.
    expect(await page.getByTestId('preview').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Crop…' }).count()).toBe(0);
    // The handles move by keyboard (0.1 s, Shift 1 s): select 2 s – 3 s and cut it.
    await page.getByRole('slider', { name: 'Selection start' }).press('Shift+ArrowRight');
    await page.getByRole('slider', { name: 'Selection start' }).press('Shift+ArrowRight');
    for (let i = 0; i < 3; i++) await page.getByRole('slider', { name: 'Selection end' }).press('Shift+ArrowLeft');
    expect(await page.getByLabel('From (s)').inputValue()).toBe('2');
    // the selection started at the whole recording's end: Opus adds a few ms to the 6 s
    const to = Number(await page.getByLabel('To (s)').inputValue());
    expect(to).toBeCloseTo(3, 1);
    await page.getByRole('button', { name: 'Cut selection' }).click();
    await expect.poll(() => historyLines(page)).toEqual([`active: Cut 0:02.000–${clock(to)}`]);
    const kept = await page
      .getByTestId('kept-range')
      .evaluateAll((els) => els.map((e) => `${e.getAttribute('data-start')}–${e.getAttribute('data-end')}`));
    expect(kept).toHaveLength(2);
    expect(kept[0]).toBe('0–2');
    expect(kept[1]!.startsWith(`${to}–`)).toBe(true);
    await expect.poll(() => page.getByTestId('editor-clock').textContent()).toMatch(/\/ 0:05\.000$/);

    await page.getByRole('slider', { name: 'Volume (dB)' }).press('ArrowLeft');
    await expect.poll(() => historyLines(page)).toContain('active: Volume -1 dB');
    // Playing from 1.5 s: the preview's gain is the edit's (-1 dB) and it jumps over the cut.
    await seekPreview(page, 1.5);
    await page.getByRole('button', { name: 'Play' }).click();
    await expect.poll(() => media(page).getAttribute('data-preview-gain')).toBe((10 ** (-1 / 20)).toFixed(3));
    await expect
      .poll(() => media(page).evaluate((el: HTMLMediaElement) => el.currentTime), { timeout: 10_000 })
      .toBeGreaterThan(3);
    await page.getByLabel('Mute').click(); // checked once the server made the edit
    await expect.poll(() => historyLines(page)).toContain('active: Muted');
    expect(await page.getByLabel('Mute').isChecked()).toBe(true);
    await expect.poll(() => media(page).getAttribute('data-preview-gain')).toBe('0.000');
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.close();
  });
});
