/**
 * Each of the six recording types in a real Chromium, end to end: sign up, record about 3 s, keep it,
 * find it in the library after a reload (thumbnail, duration within 1 s), and play and seek it with
 * Range requests. Screenshots of the recorder, the library and the player go to test-results/e2e/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { launchBrowser, printProblems, screenshot, type LaunchedBrowser } from '../support/browser.js';
import {
  MODES,
  keepTake,
  libraryCard,
  measuredSeconds,
  playAndSeek,
  prepareRecorder,
  processed,
  recordFor,
  requireWebBuild,
  signUpInUi,
  slideImages,
  startE2eServer,
  storageBadge,
  waitStartEnabled,
  type E2eServer,
} from '../support/e2e.js';

let server: E2eServer;
let browser: LaunchedBrowser;
let slides: string[];
let scratch: string;

beforeAll(async () => {
  requireWebBuild();
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-e2e-slides-'));
  slides = slideImages(scratch);
  server = await startE2eServer();
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close({ removeProfile: true });
  await server?.close();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

describe.each(MODES)('%s', (mode) => {
  it('records about 3 s, keeps it, lists it with a thumbnail and its duration, and plays and seeks it', async () => {
    const page = await browser.context.newPage();
    onTestFailed(async () => {
      printProblems(browser, mode);
      await screenshot(page, `failed-${mode}`).catch(() => undefined);
    });
    await signUpInUi(page, server.url, `Mode ${mode}`);
    expect(await storageBadge(page)).toBe('server');

    await prepareRecorder(page, server.url, mode, slides);
    const recorded = await recordFor(page, 3, {
      duringTake: async () => {
        await page.waitForTimeout(1500);
        if (mode.startsWith('slides')) await page.getByRole('button', { name: 'Next slide' }).click();
        await screenshot(page, `recorder-${mode}`);
      },
    });
    const kept = await keepTake(page, `E2E ${mode}`);
    expect(kept.kind).toBe('server');

    const rec = await processed(page, server.url, kept.id);
    expect(rec.recordingType).toBe(mode);
    // the mime the browser recorded with; an audio take stays audio/webm on the server
    expect(rec.mimeType).toMatch(mode === 'audio' ? /^audio\/webm/ : /^video\/webm/);
    expect(Math.abs(measuredSeconds(rec) - recorded)).toBeLessThan(1);
    expect(rec.thumbnailUrl).toBeTruthy();
    if (mode.startsWith('slides')) {
      // Slide change times are kept with the recording.
      expect(JSON.stringify(rec.metadata)).toMatch(/slide/i);
    }

    // The library, after a reload: the card with a thumbnail and the duration.
    const card = await libraryCard(page, server.url, kept.id);
    await page.reload();
    await card.waitFor();
    const thumb = card.locator('img');
    await thumb.waitFor();
    await expect.poll(() => thumb.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    expect(Math.abs(Number(await card.getAttribute('data-duration')) - recorded)).toBeLessThanOrEqual(1);
    await screenshot(page, `library-${mode}`);

    // The player: plays, seeks, the media comes with Range (206).
    await page.goto(`${server.url}/recordings/${kept.id}`);
    const played = await playAndSeek(page);
    expect(Math.abs(played.duration - measuredSeconds(rec))).toBeLessThan(0.5);
    expect(played.statuses).toContain(206);
    if (mode === 'audio') await page.getByTestId('waveform').waitFor();
    await screenshot(page, `player-${mode}`);
    await page.close();
  }, 150_000);
});

it(
  'switching to a screen mode while the camera preview is still ' + 'starting does not leave the recorder waiting',
  async () => {
    const page = await browser.context.newPage();
    onTestFailed(async () => {
      printProblems(browser, 'quick switch');
      await screenshot(page, 'failed-quick-switch').catch(() => undefined);
    });
    await signUpInUi(page, server.url, 'Quick switcher');
    await page.goto(`${server.url}/record`);
    await page.locator('[data-mode="camera"]').click();
    await waitStartEnabled(page);
    // A camera that takes 2 s to open (a slow device, a permission prompt): switch while it opens.
    await page.addInitScript(() => {
      const md = navigator.mediaDevices;
      const original = md.getUserMedia.bind(md);
      md.getUserMedia = (c) => new Promise((r) => setTimeout(r, 2000)).then(() => original(c));
    });
    await page.reload();
    await page.getByTestId('storage-badge').waitFor();
    await page.locator('[data-mode="screen-camera"]').click();
    await waitStartEnabled(page, 20_000);
    await page.close();
  },
);
