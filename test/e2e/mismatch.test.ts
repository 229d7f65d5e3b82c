/**
 * Keep when the server's copy differs (its reported sha256 is altered in flight by the browser test):
 * the review stays, says so plainly, offers the local bytes as a download and the server's copy; the
 * next page load re-checks the uploaded take (verifyUploadedTakes) and, the server now matching,
 * deletes the local copy.
 */
import fs from 'node:fs';
import { describe, expect, it, onTestFailed } from 'vitest';
import { launchBrowser, printProblems, screenshot, type LaunchedBrowser } from '../support/browser.js';
import { prepareRecorder, recordFor, signUpInUi, withServerAndBrowser, type E2eServer } from '../support/e2e.js';

let server: E2eServer;
let b: LaunchedBrowser;

withServerAndBrowser((s) => ({ server, b } = s));

const localTakes = (page: import('playwright-core').Page) =>
  page.evaluate(
    () =>
      new Promise<{ state: string; problem?: string }[]>((resolve, reject) => {
        const r = indexedDB.open('recorder');
        r.onerror = () => reject(r.error);
        r.onsuccess = () => {
          const g = r.result.transaction('takes').objectStore('takes').getAll();
          g.onsuccess = () => {
            resolve(
              (g.result as { state: string; problem?: string }[]).map((t) => ({ state: t.state, problem: t.problem })),
            );
            r.result.close();
          };
        };
      }),
  );

describe('keep with a server copy that does not match', () => {
  it('stays on the review with the problem, a download of the local take and ' +
    'the server copy; re-checked on the next load', async () => {
    const page = await b.context.newPage();
    onTestFailed(async () => {
      printProblems(b, 'mismatch');
      await screenshot(page, 'failed-mismatch').catch(() => undefined);
    });
    await signUpInUi(page, server.url, 'Mismatch');
    const bad = '0'.repeat(64);
    await page.route(/\/api\/recordings\/[^/?]+$/, async (route) => {
      const res = await route.fetch();
      const body = (await res.json()) as { metadata?: Record<string, unknown> };
      if (body.metadata?.upload_sha256) body.metadata.upload_sha256 = bad;
      await route.fulfill({ response: res, json: body });
    });
    await prepareRecorder(page, server.url, 'camera');
    await recordFor(page, 2);
    await page.getByLabel('Title').fill('Different bytes');
    await page.getByRole('button', { name: 'Keep' }).click();
    await page
      .getByText("The server's copy of this take doesn't match what this browser recorded.")
      .waitFor({ timeout: 60_000 });
    expect(new URL(page.url()).pathname).toBe('/record');
    await screenshot(page, 'mismatch-review');
    const download = page.getByRole('link', { name: 'Download the take' });
    await download.waitFor();
    expect(await download.getAttribute('download')).toBe('Different bytes.webm');
    const [file] = await Promise.all([page.waitForEvent('download'), download.click()]);
    const saved = await file.path();
    const size = fs.statSync(saved).size;
    const takes = await localTakes(page);
    expect(takes).toHaveLength(1);
    expect(takes[0]!.state).toBe('uploaded');
    expect(takes[0]!.problem).toMatch(/sha256/);
    expect(size).toBeGreaterThan(10_000);
    const server_ = page.getByRole('link', { name: "Open the server's copy" });
    expect(await server_.getAttribute('href')).toMatch(/^\/recordings\/[^/]+$/);
    expect(await page.getByRole('button', { name: 'Try again' }).isEnabled()).toBe(true);

    // Next load with the server's real answer: the check runs again and the local copy goes.
    await page.unroute(/\/api\/recordings\/[^/?]+$/);
    await page.goto(`${server.url}/`);
    await expect.poll(() => localTakes(page).then((t) => t.length), { timeout: 20_000 }).toBe(0);
    await page.close();
  }, 120_000);

  it('a take whose check failed is listed on the next load and Try ' +
    'again sends it again as a new recording', async () => {
    const page = await b.context.newPage();
    onTestFailed(async () => {
      printProblems(b, 'mismatch-banner');
      await screenshot(page, 'failed-mismatch-banner').catch(() => undefined);
    });
    await signUpInUi(page, server.url, 'Banner');
    const pattern = /\/api\/recordings\/[^/?]+$/;
    await page.route(pattern, async (route) => {
      const res = await route.fetch();
      const body = (await res.json()) as { metadata?: Record<string, unknown> };
      if (body.metadata?.upload_sha256) body.metadata.upload_sha256 = '1'.repeat(64);
      await route.fulfill({ response: res, json: body });
    });
    await prepareRecorder(page, server.url, 'audio');
    await recordFor(page, 2);
    await page.getByLabel('Title').fill('Listed again');
    await page.getByRole('button', { name: 'Keep' }).click();
    const open = page.getByRole('link', { name: "Open the server's copy" });
    await open.waitFor({ timeout: 60_000 });
    const first = (await open.getAttribute('href'))!.split('/').pop();

    // A fresh load, the server still differing: re-checked, still wrong, so listed with its problem.
    await page.goto(`${server.url}/`);
    const banner = page.getByTestId('recovery');
    await banner.getByText("The server's copy of this take doesn't match").waitFor({ timeout: 20_000 });
    await banner.getByRole('link', { name: 'Download the take' }).waitFor();
    expect(await banner.getByRole('button', { name: 'Recover' }).count()).toBe(0);
    expect(await banner.getByRole('button', { name: 'Discard' }).count()).toBe(1);
    await screenshot(page, 'mismatch-banner');

    await page.unroute(pattern);
    await banner.getByRole('button', { name: 'Try again' }).click();
    const done = banner.getByRole('link', { name: 'Open the recording' });
    await done.waitFor({ timeout: 60_000 });
    const second = (await done.getAttribute('href'))!.split('/').pop();
    expect(second).not.toBe(first);
    await expect.poll(() => localTakes(page).then((t) => t.length), { timeout: 20_000 }).toBe(0);
    await page.close();
  }, 120_000);

  it('permission refused: Start is disabled next to Try again', async () => {
    const d = await launchBrowser(undefined, { mediaPermission: 'denied' });
    try {
      const page = await d.context.newPage();
      await signUpInUi(page, server.url, 'Denied');
      await page.goto(`${server.url}/record`);
      await page.getByRole('button', { name: 'Try again' }).waitFor({ timeout: 15_000 });
      expect(await page.getByRole('button', { name: 'Start recording' }).isDisabled()).toBe(true);
    } finally {
      await d.close({ removeProfile: true });
    }
  }, 60_000);
});
