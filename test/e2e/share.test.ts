/**
 * Share links and comments in a real Chromium (issue 13), one server and one browser with two contexts: the
 * owner (signed in) shares a 6 s recording with a password, comments allowed and an expiry; a fresh signed-out
 * context opens the link, is asked for the password, plays and seeks, and comments at 0:02 under a guest
 * name; the owner's player shows the marker without a reload (polling), a click on it seeks, the owner
 * replies and resolves, and the visitor sees the reply; the library card says "Shared" with the count; the
 * owner revokes the link and the visitor's reload is the server's 410 page. The visitor context never held
 * a cookie, and no answer it got tried to set one.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { CHROMIUM, screenshot } from '../support/browser.js';
import { signUp } from '../support/app.js';
import { type E2eServer, processed, requireWebBuild, startE2eServer } from '../support/e2e.js';
import { createUpload, patchUpload } from '../support/tus-http.js';

const TITLE = 'Quarterly demo';
const PASSWORD = 'open sesame 42';

let server: E2eServer;
let browser: Browser;
let owner: BrowserContext;
let visitor: BrowserContext;
let dir: string;
let recordingId: string;
const visitorSetCookies: string[] = [];
const problems: string[] = [];

/** A 6 s take by ffmpeg: testsrc2 and a tone (VP9 + Opus WebM). */
function makeTake(file: string): void {
  const r = spawnSync('ffmpeg', [
    ...['-nostdin', '-hide_banner', '-loglevel', 'error', '-y'],
    ...['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=15:duration=6'],
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=6'],
    ...['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '200k', '-c:a', 'libopus', file],
  ]);
  if (r.status !== 0) throw new Error(`ffmpeg: ${r.stderr?.toString()}`);
}

function watch(context: BrowserContext, label: string): void {
  context.on('page', (page) => {
    page.on('pageerror', (e) => problems.push(`[${label} pageerror] ${e.message}`));
    page.on('console', (m) => m.type() === 'error' && problems.push(`[${label} console] ${m.text()}`));
  });
}

beforeAll(async () => {
  requireWebBuild();
  server = await startE2eServer();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-share-e2e-'));
  const file = path.join(dir, 'take.webm');
  makeTake(file);
  const user = await signUp(server.url, 'Sharer');
  const bytes = fs.readFileSync(file);
  const meta = { recordingType: 'camera', title: TITLE, filetype: 'video/webm' };
  const up = await createUpload(server.url, user.headers, meta, { length: bytes.length });
  const done = await patchUpload(up.location, user.headers, 0, bytes);
  expect(done.status).toBe(204);
  recordingId = done.headers.get('recording-id')!;

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--autoplay-policy=no-user-gesture-required'],
  });
  owner = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  visitor = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  watch(owner, 'owner');
  watch(visitor, 'visitor');
  visitor.on('response', async (r) => {
    const set = await r.headerValue('set-cookie').catch(() => null);
    if (set) visitorSetCookies.push(`${r.url()}: ${set}`);
  });
  const [name, value] = user.cookie.split(';')[0]!.split('=') as [string, string];
  await owner.addCookies([{ name, value, url: server.url }]);
  const page = await owner.newPage();
  await processed(page, server.url, recordingId);
  await page.close();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function onFailure(pages: Record<string, Page>): void {
  onTestFailed(async () => {
    if (problems.length) process.stderr.write(`\n--- browser problems\n${problems.join('\n')}\n---\n`);
    for (const [label, page] of Object.entries(pages))
      await screenshot(page, `failed-share-${label}`).catch(() => undefined);
  });
}

const player = (page: Page) => page.getByTestId('player');

async function seek(page: Page, seconds: number): Promise<void> {
  await player(page).evaluate(async (el: HTMLMediaElement, t: number) => {
    el.pause();
    const seeked = new Promise((r) => el.addEventListener('seeked', r, { once: true }));
    el.currentTime = t;
    await seeked;
  }, seconds);
}

describe('a share link with a password, and comments on the timeline', () => {
  it('goes from sharing to a guest comment, a reply, resolving, and a revoked link', async () => {
    const ownerPage = await owner.newPage();
    const visitorPage = await visitor.newPage();
    onFailure({ owner: ownerPage, visitor: visitorPage });

    // The owner makes a link: comments allowed, a password, expiring in a day.
    await ownerPage.goto(`${server.url}/recordings/${recordingId}`);
    await ownerPage.getByRole('heading', { name: TITLE }).waitFor({ timeout: 30_000 });
    await ownerPage.getByRole('button', { name: 'Share' }).click();
    const dialog = ownerPage.getByRole('dialog', { name: 'Share this recording' });
    await dialog.getByLabel('Comment').check();
    await dialog.getByLabel('Password (optional)').fill(PASSWORD);
    await dialog.getByLabel('Expires').selectOption('1d');
    await dialog.getByLabel('Label (optional)').fill('For the client');
    await dialog.getByRole('button', { name: 'Create link' }).click();
    const link = await dialog.getByLabel('Link').inputValue();
    expect(link).toMatch(new RegExp(`^${server.url}/s/sh_[A-Za-z0-9_-]{43,}$`));
    const row = dialog.getByTestId('share-link');
    await expect.poll(() => row.getAttribute('data-status')).toBe('active');
    expect(await row.textContent()).toMatch(/For the client.*comment.*password.*expires/);
    await dialog.getByRole('button', { name: 'Close' }).click();

    // A signed-out visitor: the password first, then the recording; it plays and seeks through the link.
    await visitorPage.goto(link);
    await visitorPage.getByRole('heading', { name: 'Password-protected recording' }).waitFor();
    await visitorPage.getByLabel('Password').fill('not the password');
    await visitorPage.getByRole('button', { name: 'Open' }).click();
    await visitorPage.getByRole('alert').waitFor();
    await visitorPage.getByLabel('Password').fill(PASSWORD);
    await visitorPage.getByRole('button', { name: 'Open' }).click();
    await visitorPage.getByRole('heading', { name: TITLE }).waitFor();
    expect(await visitorPage.getByRole('link', { name: 'Download' }).count()).toBe(0);
    const src = await player(visitorPage).getAttribute('src');
    expect(src).toMatch(/^\/api\/s\/sh_[^/]+\/media\?access=/);
    await player(visitorPage).evaluate((el: HTMLMediaElement) => el.play());
    await expect
      .poll(() => player(visitorPage).evaluate((el: HTMLMediaElement) => el.currentTime), { timeout: 15_000 })
      .toBeGreaterThan(0.3);
    await seek(visitorPage, 4.5);
    await seek(visitorPage, 2);

    // The guest comments at 0:02.
    await visitorPage.getByLabel('Your name').fill('Dana (client)');
    await visitorPage.getByLabel('Add a comment').fill('The logo <b>flickers</b> here');
    const at = visitorPage.getByLabel('At 0:02');
    expect(await at.isChecked()).toBe(true);
    await visitorPage.getByRole('button', { name: 'Comment', exact: true }).click();
    const guestThread = visitorPage.getByTestId('comment-thread');
    await expect.poll(() => guestThread.count()).toBe(1);
    expect(await guestThread.getByTestId('comment-body').textContent()).toBe('The logo <b>flickers</b> here');
    expect(await guestThread.getByRole('button', { name: 'Edit' }).count()).toBe(1); // their own, by its key

    // The owner's open page gets it by polling: the marker at 0:02; a click seeks there.
    const marker = ownerPage.getByTestId('comment-marker');
    await marker.waitFor({ timeout: 10_000 });
    const atMs = Number(await marker.getAttribute('data-at-ms'));
    expect(atMs).toBeGreaterThanOrEqual(2000);
    expect(atMs).toBeLessThan(2100);
    await player(ownerPage).evaluate((el: HTMLMediaElement) => {
      if (el.readyState < 1) return new Promise((r) => el.addEventListener('loadedmetadata', r, { once: true }));
    });
    const seeked = player(ownerPage).evaluate(
      (el: HTMLMediaElement) => new Promise((r) => el.addEventListener('seeked', r, { once: true })),
    );
    await marker.click();
    await seeked;
    const ownerAt = await player(ownerPage).evaluate((el: HTMLMediaElement) => el.currentTime);
    expect(Math.abs(ownerAt - atMs / 1000)).toBeLessThan(0.05);
    const ownerThread = ownerPage.getByTestId('comment-thread');
    expect(await ownerThread.textContent()).toContain('Dana (client)');
    expect(await ownerThread.textContent()).toContain('Guest');

    // The owner replies and resolves; the marker dims.
    await ownerThread.getByRole('button', { name: 'Reply' }).click();
    await ownerThread.getByLabel('Reply').fill('Fixed in the next cut');
    await ownerThread.getByRole('button', { name: 'Reply' }).click();
    await expect.poll(() => ownerThread.getByTestId('comment').count()).toBe(2);
    await ownerThread.getByRole('button', { name: 'Resolve' }).click();
    await expect.poll(() => ownerThread.getAttribute('data-resolved')).toBe('true');
    await expect.poll(() => marker.getAttribute('data-resolved')).toBe('true');
    await screenshot(ownerPage, 'share-owner-player');

    // The visitor sees the reply and the resolution without reloading.
    await expect.poll(() => guestThread.textContent(), { timeout: 10_000 }).toContain('Fixed in the next cut');
    await expect.poll(() => guestThread.getAttribute('data-resolved')).toBe('true');
    expect(await guestThread.getByRole('button', { name: /Resolve|Reopen/ }).count()).toBe(0);
    await screenshot(visitorPage, 'share-visitor');

    // The library card: shared, two comments.
    await ownerPage.goto(`${server.url}/`);
    const card = ownerPage.locator(`[data-testid="recording-card"][data-id="${recordingId}"]`);
    await card.waitFor();
    expect(await card.getByTestId('shared-badge').count()).toBe(1);
    expect(await card.getByTestId('comment-count').textContent()).toBe('2 comments');

    // Revoke: the visitor's reload is the server's 410 page.
    await ownerPage.goto(`${server.url}/recordings/${recordingId}`);
    await ownerPage.getByRole('button', { name: 'Share' }).click();
    await dialog.getByRole('button', { name: 'Revoke' }).click();
    await expect.poll(() => row.getAttribute('data-status')).toBe('revoked');
    expect(await row.getByTestId('share-views').textContent()).toMatch(/^[1-9]\d* views?/);
    const reload = await visitorPage.reload();
    expect(reload?.status()).toBe(410);
    expect(await visitorPage.locator('body').textContent()).toMatch(/revoked/i);
    expect(await visitorPage.locator('script').count()).toBe(0);

    // Nothing tried to give the visitor a cookie, and it holds none.
    expect(visitorSetCookies).toEqual([]);
    expect(await visitor.cookies()).toEqual([]);
  });
});
