/**
 * Legacy import in a real Chromium (issue 11): what the old browser-only recorder left in localStorage
 * (data: URLs, `idb:` refs into its IndexedDB, and entries that cannot be read) is seeded before the app
 * loads, imported through the banner, and checked on the server: titles, types, original creation dates,
 * durations, sha256. The browser closed mid-item resumes on the next run with no duplicate; a second
 * profile with the same data imports nothing new; a cut-off savedRecordings value is never rewritten.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { Page } from 'playwright-core';
import { launchBrowser, printProblems, relaunch, screenshot, type LaunchedBrowser } from '../support/browser.js';
import {
  measuredSeconds,
  processed,
  serverRecordings,
  signInInUi,
  signUpInUi,
  type E2eServer,
  type UiUser,
  withServerAndBrowser,
} from '../support/e2e.js';
import {
  dataUrl,
  idbHas,
  importAll,
  type IdbSeed,
  type LegacyMedia,
  makeLegacyMedia,
  openSignedIn,
  savedNow,
  seedOnLoad as seed,
  sha,
} from '../support/legacy-fixtures.js';

let server: E2eServer;
let browser: LaunchedBrowser;
withServerAndBrowser((s) => {
  server = s.server;
  browser = s.b;
});
const extra: LaunchedBrowser[] = [];
let files: LegacyMedia;

beforeAll(() => {
  files = makeLegacyMedia();
});
afterAll(async () => {
  for (const b of extra) await b.close({ removeProfile: true });
  if (files) fs.rmSync(files.dir, { recursive: true, force: true });
});

const seedOnLoad = (page: Page, saved: string, ...rest: [IdbSeed[]?, string?]) =>
  seed(page, server.url, saved, ...rest);

function watch(b: LaunchedBrowser, page: Page, name: string): void {
  onTestFailed(async () => {
    printProblems(b, name);
    await screenshot(page, `failed-legacy-${name}`).catch(() => undefined);
  });
}

async function imports(page: Page) {
  const res = await page.request.get(`${server.url}/api/imports`);
  expect(res.status()).toBe(200);
  return ((await res.json()) as { imports: { id: string; imported: number; already: number; skipped: number }[] })
    .imports;
}

describe('legacy import in the browser', () => {
  it('imports every readable entry with its details; the bad ones stay, listed with plain reasons', async () => {
    const page = await browser.context.newPage();
    watch(browser, page, 'main');
    const good = [
      {
        id: 101,
        title: 'Team intro',
        type: 'video',
        duration: '3.0',
        createdAt: '2023-04-05T10:20:30.000Z',
        description: 'First take',
        quality: 'medium',
        mediaBlob: dataUrl(files.camera, 'video/webm'),
        thumbnail: dataUrl(files.png, 'image/png'),
      },
      {
        id: 'a-2',
        name: 'Voice memo',
        type: 'voice',
        durationMs: 3000,
        timestamp: 1600000000,
        dataUrl: dataUrl(files.audio, 'audio/webm'),
      },
      {
        id: 103,
        type: 'screen_camera',
        duration: 3,
        date: 1650000000000,
        mimeType: 'video/mp4',
        url: 'idb:oldRecorder/blobs/103',
      },
    ];
    const bad = [
      {
        id: 201,
        title: 'Dead link',
        type: 'camera',
        mediaUrl: 'blob:http://127.0.0.1/3f1c0d2e-0000-4000-8000-000000000000',
      },
      { id: 202, title: 'Broken data', type: 'camera', mediaBlob: 'data:video/webm;base64,@@@not*base64@@@' },
      { id: 203, title: 'Hologram', type: 'hologram', mediaBlob: dataUrl(files.audio, 'audio/webm') },
    ];
    await seedOnLoad(page, JSON.stringify([good[0], bad[0], good[1], bad[1], good[2], bad[2]]), [
      { database: 'oldRecorder', store: 'blobs', key: '103', file: files.mp4, mime: 'video/mp4' },
    ]);
    await signUpInUi(page, server.url, 'Legacy');

    const banner = page.getByTestId('legacy-import');
    await banner.getByText(/^3 recordings in this browser/).waitFor({ timeout: 30_000 });
    const reasons = await page
      .getByTestId('legacy-skip')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-reason')));
    expect(reasons.sort()).toEqual(['BLOB_URL_DEAD', 'CORRUPT_DATA', 'UNKNOWN_TYPE']);
    await screenshot(page, 'legacy-import-banner');

    expect(await importAll(page)).toEqual({ imported: 3, already: 0, failed: 0 });
    await screenshot(page, 'legacy-import-done');

    // The server's recordings: the old details, the original dates, the exact bytes.
    const recs = await serverRecordings(page, server.url);
    expect(recs).toHaveLength(3);
    const expected = [
      { title: 'Team intro', type: 'camera', created: '2023-04-05T10:20:30.000Z', file: files.camera },
      { title: 'Voice memo', type: 'audio', created: new Date(1600000000 * 1000).toISOString(), file: files.audio },
      {
        title: /^Screen and camera recording/,
        type: 'screen-camera',
        created: new Date(1650000000000).toISOString(),
        file: files.mp4,
      },
    ];
    for (const e of expected) {
      const r = recs.find((x) => x.metadata.upload_sha256 === sha(e.file));
      expect(r, `a recording with the bytes of ${path.basename(e.file)}`).toBeDefined();
      const done = await processed(page, server.url, r!.id);
      expect(done.title).toMatch(e.title);
      expect(done.recordingType).toBe(e.type);
      expect(new Date((done as unknown as { createdAt: string }).createdAt).toISOString()).toBe(e.created);
      expect(Number(done.metadata.upload_size)).toBe(fs.statSync(e.file).size);
      expect(Math.abs(measuredSeconds(done) - 3)).toBeLessThan(0.5);
    }
    const intro = recs.find((x) => x.title === 'Team intro')!;
    const full = (await (await page.request.get(`${server.url}/api/recordings/${intro.id}`)).json()) as {
      description: string;
      quality: string;
      thumbnailUrl: string | null;
    };
    expect(full.description).toBe('First take');
    expect(full.quality).toBe('medium');
    expect(full.thumbnailUrl).toBeTruthy();
    const thumb = await page.request.get(new URL(full.thumbnailUrl!, server.url).toString());
    expect(Buffer.from(await thumb.body()).equals(fs.readFileSync(files.png))).toBe(true);

    // Only the imported entries left this browser; the bad ones are exactly as they were.
    expect(JSON.parse((await savedNow(page))!)).toEqual(bad);
    expect(await idbHas(page, 'oldRecorder', 'blobs', '103')).toBe(false);

    // Download what is readable (the unknown type's bytes), then Dismiss: the list stays away.
    const hologram = page.locator('[data-testid="legacy-skip"][data-reason="UNKNOWN_TYPE"]');
    expect(await hologram.textContent()).toContain('not one this app knows');
    const [dl] = await Promise.all([
      page.waitForEvent('download'),
      hologram.getByRole('button', { name: 'Download' }).click(),
    ]);
    expect(fs.statSync((await dl.path())!).size).toBe(fs.statSync(files.audio).size);
    expect(await page.locator('[data-testid="legacy-skip"][data-reason="BLOB_URL_DEAD"] button').count()).toBe(0);
    await page.getByTestId('legacy-skipped').getByRole('button', { name: 'Dismiss' }).click();
    await page.reload();
    await page.getByTestId('recording-card').first().waitFor();
    expect(await page.getByTestId('legacy-import').count()).toBe(0);
    expect(JSON.parse((await savedNow(page))!)).toEqual(bad);

    // The history: one import, three imported, three skipped with their reasons.
    const [imp] = await imports(page);
    expect(imp).toMatchObject({ imported: 3, already: 0, skipped: 3 });
    await page.getByRole('link', { name: 'Import history' }).click();
    const row = page.getByTestId('import-history-row').first();
    await row.getByRole('button', { name: 'Show items' }).click();
    await expect.poll(() => page.getByTestId('import-history-item').count()).toBe(6);
    await screenshot(page, 'legacy-import-history');
    await page.close();
  }, 180_000);

  it('resumes after the browser was closed mid-item: exact counts, no duplicates; ' +
    'a second profile with the same data imports nothing new', async () => {
    const saved = JSON.stringify([
      {
        id: 1,
        title: 'First',
        type: 'camera',
        duration: 3,
        createdAt: '2022-01-01T09:00:00Z',
        mediaBlob: dataUrl(files.camera, 'video/webm'),
      },
      {
        id: 2,
        title: 'Big one',
        type: 'screen',
        duration: 3,
        createdAt: '2022-01-02T09:00:00Z',
        url: 'idb:oldRecorder/blobs/2',
      },
      {
        id: 3,
        title: 'Third',
        type: 'audio',
        duration: 3,
        createdAt: '2022-01-03T09:00:00Z',
        mediaBlob: dataUrl(files.audio, 'audio/webm'),
      },
    ]);
    const idb = [{ database: 'oldRecorder', store: 'blobs', key: '2', file: files.big, mime: 'video/mp4' }];
    const shas = [sha(files.camera), sha(files.big), sha(files.audio)].sort();

    const first = await launchBrowser();
    extra.push(first);
    let page = await first.context.newPage();
    watch(first, page, 'killed');
    await seedOnLoad(page, saved, idb);
    const user: UiUser = await signUpInUi(page, server.url, 'Killed');
    await page
      .getByTestId('legacy-import')
      .getByText(/^3 recordings/)
      .waitFor({ timeout: 30_000 });
    // The big item's second chunk never gets through: the browser dies while it is on its way.
    let hung!: () => void;
    const secondChunk = new Promise<void>((r) => (hung = r));
    await page.route('**/api/uploads/*', async (route) => {
      const req = route.request();
      if (req.method() === 'PATCH' && Number(req.headers()['upload-offset'] ?? 0) > 0) return hung();
      await route.continue();
    });
    await page.getByTestId('legacy-import').getByRole('button', { name: 'Import', exact: true }).click();
    await secondChunk;
    // The whole browser closes while that chunk is on its way (what storage it wrote is on disk).
    await first.close();

    const again = await relaunch(first.profileDir);
    extra.push(again);
    page = await again.context.newPage();
    watch(again, page, 'relaunched');
    const uploads: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/api/uploads')) uploads.push(`${r.method()} ${r.headers()['upload-offset'] ?? ''}`);
    });
    // The session cookie may not outlive the browser: the person signs in again.
    await openSignedIn(page, server.url, user);
    await page
      .getByTestId('legacy-import')
      .getByText(/^2 recordings/)
      .waitFor({ timeout: 30_000 });
    const r = await importAll(page);
    expect(r.failed).toBe(0);
    // The big item went on from where the server was (a HEAD, then a PATCH past the first chunk).
    expect(uploads.some((u) => u.startsWith('HEAD'))).toBe(true);
    expect(uploads.some((u) => u.startsWith('PATCH') && Number(u.split(' ')[1]) > 0)).toBe(true);
    let recs = await serverRecordings(page, server.url);
    expect(recs.map((x) => x.metadata.upload_sha256).sort()).toEqual(shas);
    expect((await imports(page)).reduce((n, i) => n + i.imported, 0)).toBe(3);
    expect(JSON.parse((await savedNow(page)) ?? '[]')).toEqual([]);

    // Another profile of the same person, with the same old data: everything is there already.
    const other = await launchBrowser();
    extra.push(other);
    const page2 = await other.context.newPage();
    watch(other, page2, 'second-profile');
    await seedOnLoad(page2, saved, idb);
    await signInInUi(page2, server.url, user);
    await page2
      .getByTestId('legacy-import')
      .getByText(/^3 recordings/)
      .waitFor({ timeout: 30_000 });
    expect(await importAll(page2)).toEqual({ imported: 0, already: 3, failed: 0 });
    recs = await serverRecordings(page2, server.url);
    expect(recs).toHaveLength(3);
    expect(JSON.parse((await savedNow(page2)) ?? '[]')).toEqual([]);
    expect(await idbHas(page2, 'oldRecorder', 'blobs', '2')).toBe(false);
  }, 240_000);

  it('imports the complete entries of a cut-off list and leaves the value byte-identical', async () => {
    const page = await browser.context.newPage();
    watch(browser, page, 'truncated');
    const entries = [
      { id: 'x1', title: 'Kept one', type: 'camera', duration: 3, mediaBlob: dataUrl(files.camera, 'video/webm') },
      { id: 'x2', title: 'Kept two', type: 'audio', duration: 3, mediaBlob: dataUrl(files.audio, 'audio/webm') },
    ];
    const whole = JSON.stringify([
      ...entries,
      { id: 'x3', title: 'Cut here', type: 'camera', mediaBlob: 'data:video/webm;base64,AAAA' },
    ]);
    const raw = whole.slice(0, whole.indexOf('Cut here') + 3);
    await seedOnLoad(page, raw, [], 'test-seeded-truncated');
    await signUpInUi(page, server.url, 'Truncated');
    await page
      .getByTestId('legacy-import')
      .getByText(/^2 recordings/)
      .waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-testid="legacy-skip"][data-reason="UNREADABLE_JSON"]').count()).toBe(1);
    expect(await importAll(page)).toEqual({ imported: 2, already: 0, failed: 0 });
    expect(await savedNow(page)).toBe(raw);
    const recs = await serverRecordings(page, server.url);
    expect(recs.map((x) => x.title).sort()).toEqual(['Kept one', 'Kept two']);

    // Imported, but not removable: not offered again; the unreadable rest is still listed.
    await page.reload();
    await page.getByTestId('legacy-skip').first().waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('legacy-import').getByRole('button', { name: 'Import', exact: true }).count()).toBe(
      0,
    );
    expect(await savedNow(page)).toBe(raw);
    await page.close();
  }, 120_000);

  it('an item the server refuses (not media) stays, is listed with the reason, and is not offered again', async () => {
    const page = await browser.context.newPage();
    watch(browser, page, 'refused');
    const text = Buffer.from('Meeting notes, typed in the wrong box: not a recording at all.\n'.repeat(20));
    const notMedia = {
      id: 'n1',
      title: 'Notes',
      type: 'camera',
      mediaBlob: `data:video/webm;base64,${text.toString('base64')}`,
    };
    const good = { id: 'g1', title: 'Good one', type: 'audio', mediaBlob: dataUrl(files.audio, 'audio/webm') };
    await seedOnLoad(page, JSON.stringify([notMedia, good]), [], 'test-seeded-refused');
    await signUpInUi(page, server.url, 'Refused');
    await page
      .getByTestId('legacy-import')
      .getByText(/^2 recordings/)
      .waitFor({ timeout: 30_000 });
    expect(await importAll(page)).toEqual({ imported: 1, already: 0, failed: 1 });
    const row = page.locator('[data-testid="legacy-skip"][data-reason="NOT_MEDIA"]');
    expect(await row.textContent()).toContain('not audio or video');
    expect(JSON.parse((await savedNow(page))!)).toEqual([notMedia]);
    expect((await serverRecordings(page, server.url)).map((r) => r.title)).toEqual(['Good one']);

    await page.reload();
    await row.waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('legacy-import').getByRole('button', { name: 'Import', exact: true }).count()).toBe(
      0,
    );
    expect(await row.getByRole('button', { name: 'Download' }).count()).toBe(1);
    await page.close();
  }, 120_000);

  it('two tabs importing at once make no duplicates', async () => {
    const first = await browser.context.newPage();
    watch(browser, first, 'tabs');
    const saved = JSON.stringify([
      { id: 't1', title: 'Tab one', type: 'camera', mediaBlob: dataUrl(files.camera, 'video/webm') },
      { id: 't2', title: 'Tab two', type: 'audio', mediaBlob: dataUrl(files.audio, 'audio/webm') },
      { id: 't3', title: 'Tab three', type: 'screen', mediaBlob: dataUrl(files.mp4, 'video/mp4') },
    ]);
    await seedOnLoad(first, saved, [], 'test-seeded-tabs');
    await signUpInUi(first, server.url, 'Tabs');
    const second = await browser.context.newPage();
    await second.goto(`${server.url}/`);
    const tabs = [first, second];
    for (const p of tabs)
      await p
        .getByTestId('legacy-import')
        .getByText(/^3 recordings/)
        .waitFor({ timeout: 30_000 });
    const results = await Promise.all(tabs.map((p) => importAll(p)));
    expect(results.reduce((n, r) => n + r.imported, 0)).toBe(3);
    expect(results.every((r) => r.failed === 0)).toBe(true);
    const recs = await serverRecordings(first, server.url);
    expect(recs.map((r) => r.metadata.upload_sha256).sort()).toEqual(
      [sha(files.camera), sha(files.audio), sha(files.mp4)].sort(),
    );
    expect(JSON.parse((await savedNow(first)) ?? '[]')).toEqual([]);
    for (const p of tabs) await p.close();
  }, 120_000);
});
