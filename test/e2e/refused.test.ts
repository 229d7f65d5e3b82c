/**
 * Issue 8, part 3, in Chromium: the live upload's first PATCH carrying fewer bytes than the server's
 * 64-byte sniff window, and a take whose bytes the server refuses for good. The recorder's test-only
 * slice hook (`window.__recorderTestSlices`, docs/recorder.md) makes MediaRecorder's slices do both.
 *
 *  (a) a first slice of one byte (0x1a): the first PATCH carries it alone, the server judges the
 *      upload once it holds 64 bytes, and the take becomes a recording that processes and plays;
 *  (b) a take that is not media (it starts with "%PDF-"): "Not uploaded: <the server's reason>" with a
 *      download of the local copy and Try again, in the review and, after a reload, in the recovery
 *      banner; Try again sends one fresh upload and says so again when it is refused again; nothing
 *      is sent behind the user's back.
 */
import fs from 'node:fs';
import type { Page, Request } from 'playwright-core';
import { describe, expect, it, onTestFailed } from 'vitest';
import { type LaunchedBrowser, printProblems, screenshot } from '../support/browser.js';
import {
  type E2eServer,
  measuredSeconds,
  prepareRecorder,
  processed,
  recordFor,
  signUpInUi,
  withServerAndBrowser,
} from '../support/e2e.js';

let server: E2eServer;
let b: LaunchedBrowser;

withServerAndBrowser((s) => ({ server, b } = s));

interface UploadCall {
  method: string;
  status: number;
  /** PATCH body, as Chromium sent it. */
  body?: Buffer;
}

/** Every answered request on /api/uploads of this page, in order. */
function watchUploads(page: Page): UploadCall[] {
  const calls: UploadCall[] = [];
  page.on('response', (res) => {
    const req: Request = res.request();
    if (!new URL(req.url()).pathname.startsWith('/api/uploads')) return;
    const body = req.method() === 'PATCH' ? (req.postDataBuffer() ?? Buffer.alloc(0)) : undefined;
    calls.push({ method: req.method(), status: res.status(), ...(body ? { body } : {}) });
  });
  return calls;
}

const summary = (calls: UploadCall[]) => calls.map((c) => `${c.method} ${c.status}`);

/** A page whose recorder reshapes its slices (test-only hook), signed up as a new user. */
async function newPage(name: string, slices: 'first-byte-alone' | 'not-media'): Promise<Page> {
  const page = await b.context.newPage();
  onTestFailed(async () => {
    printProblems(b, name);
    await screenshot(page, `failed-${name}`).catch(() => undefined);
  });
  await page.addInitScript((mode) => {
    (window as unknown as { __recorderTestSlices?: string }).__recorderTestSlices = mode;
  }, slices);
  await signUpInUi(page, server.url, name);
  return page;
}

/** The take's record in this page's IndexedDB (the app's database 'recorder'). */
const storedTakes = (page: Page) =>
  page.evaluate(
    () =>
      new Promise<{ state: string; uploadRefused?: { status: number; message: string } }[]>((resolve, reject) => {
        const r = indexedDB.open('recorder');
        r.onerror = () => reject(r.error);
        r.onsuccess = () => {
          const all = r.result.transaction('takes').objectStore('takes').getAll();
          all.onsuccess = () => {
            resolve(all.result as { state: string; uploadRefused?: { status: number; message: string } }[]);
            r.result.close();
          };
        };
      }),
  );

/** Keep, then whichever comes first: the recording's page, or the app saying the server refused the take. */
async function keep(page: Page, title: string): Promise<{ recordingId: string } | { refused: string }> {
  await page.getByLabel('Title').fill(title);
  await page.getByRole('button', { name: 'Keep' }).click();
  const navigated = page
    .waitForURL(/\/recordings\/[^/]+$/, { timeout: 90_000 })
    .then(() => ({ recordingId: new URL(page.url()).pathname.split('/').pop()! }));
  const notUploaded = page.getByText(/^Not uploaded: /).first();
  const refused = notUploaded.waitFor({ timeout: 90_000 }).then(async () => ({
    refused: (await notUploaded.textContent()) ?? '',
  }));
  navigated.catch(() => undefined); // the race reports it; the loser must not be an unhandled rejection
  refused.catch(() => undefined);
  return Promise.race([navigated, refused]);
}

describe('the first slice is a single byte (0x1a)', () => {
  it('goes alone in the first PATCH, and the take still uploads and becomes a recording', async () => {
    const page = await newPage('One byte first', 'first-byte-alone');
    const calls = watchUploads(page);
    await prepareRecorder(page, server.url, 'camera');
    const seconds = await recordFor(page, 3);
    const firstPatch = calls.find((c) => c.method === 'PATCH');
    expect(firstPatch?.body?.length).toBe(1);
    expect(firstPatch?.body?.[0]).toBe(0x1a);
    const kept = await keep(page, 'First byte alone');
    if ('refused' in kept)
      throw new Error(`the server refused a take whose first PATCH was one byte (server fix not in?): ${kept.refused}`);
    expect(firstPatch?.status).toBe(204);
    expect(calls.filter((c) => c.status === 415)).toEqual([]);
    const rec = await processed(page, server.url, kept.recordingId);
    expect(Math.abs(measuredSeconds(rec) - seconds)).toBeLessThan(1.5);
    expect(await storedTakes(page)).toEqual([]); // verified: the local copy is gone
    await page.close();
  }, 150_000);
});

describe('a take the server refuses (not media)', () => {
  it('says "Not uploaded" with the reason, offers the download and Try again, and never loops', async () => {
    const page = await newPage('Not media', 'not-media');
    const calls = watchUploads(page);
    await prepareRecorder(page, server.url, 'camera');
    await recordFor(page, 2);
    const kept = await keep(page, 'Not media');
    expect('refused' in kept && kept.refused).toMatch(/^Not uploaded: This file type is not accepted \(detected/);
    const review = page.getByRole('alert').filter({ hasText: 'Not uploaded:' });
    await review.waitFor();
    await screenshot(page, 'refused-review');
    expect(summary(calls)).toEqual(['POST 201', 'PATCH 415']);
    expect(await page.getByRole('button', { name: 'Keep' }).count()).toBe(0);

    // The local copy, as recorded (with the hook's %PDF- header).
    const download = review.getByRole('link', { name: 'Download the take' });
    expect(await download.getAttribute('download')).toBe('Not media.webm');
    const [file] = await Promise.all([page.waitForEvent('download'), download.click()]);
    const saved = fs.readFileSync((await file.path())!);
    expect(saved.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(saved.length).toBeGreaterThan(10_000);
    const [take] = await storedTakes(page);
    expect(take).toMatchObject({ state: 'stopped', uploadRefused: { status: 415 } });

    // Try again: one fresh upload, refused again, and said so again.
    const before = calls.length;
    await review.getByRole('button', { name: 'Try again' }).click();
    await review.getByText('Tried again once: the server refused it again.').waitFor({ timeout: 60_000 });
    expect(summary(calls.slice(before))).toEqual(['POST 201', 'PATCH 415']);

    // A reload: listed with its reason (not as cut off), and nothing is sent until the user asks.
    const settled = calls.length;
    await page.goto(`${server.url}/`);
    const banner = page.getByTestId('recovery');
    await banner.getByText(/^Not uploaded: This file type is not accepted/).waitFor({ timeout: 20_000 });
    expect(await banner.getByText(/page closed or the connection dropped/).count()).toBe(0);
    await banner.getByRole('link', { name: 'Download the take' }).waitFor();
    expect(await banner.getByRole('button', { name: 'Recover' }).count()).toBe(0);
    expect(await banner.getByRole('button', { name: 'Discard' }).count()).toBe(1);
    await screenshot(page, 'refused-banner');
    expect(calls.length).toBe(settled);

    await banner.getByRole('button', { name: 'Try again' }).click();
    await banner
      .getByRole('alert')
      .getByText('Tried again once: the server refused it again.')
      .waitFor({ timeout: 60_000 });
    expect(summary(calls.slice(settled))).toEqual(['POST 201', 'PATCH 415']);
    expect((await storedTakes(page))[0]?.uploadRefused?.status).toBe(415);
    await page.close();
  }, 150_000);
});
