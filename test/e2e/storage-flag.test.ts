/**
 * The USE_DATABASE_STORAGE feature flag in the browser. Off: the app is the browser-only recorder,
 * takes live in IndexedDB, survive a reload and never reach the server. At 50%: users fall on either
 * side by a hash of their id, the same side on every load and after a server restart.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { Page } from 'playwright-core';
import { storageFor } from '../../src/server/features.js';
import { signUp, TEST_PASSWORD } from '../support/app.js';
import { launchBrowser, printProblems, screenshot, type LaunchedBrowser } from '../support/browser.js';
import {
  keepTake,
  libraryCard,
  playAndSeek,
  prepareRecorder,
  recordFor,
  requireWebBuild,
  serverRecordings,
  signUpInUi,
  startE2eServer,
  storageBadge,
  type E2eServer,
} from '../support/e2e.js';
import { openSignedIn } from '../support/legacy-fixtures.js';

let browser: LaunchedBrowser;

beforeAll(async () => {
  requireWebBuild();
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close({ removeProfile: true });
});

function watchFailures(page: Page, name: string) {
  onTestFailed(async () => {
    printProblems(browser, name);
    await screenshot(page, `failed-${name}`).catch(() => undefined);
  });
}

describe('USE_DATABASE_STORAGE=false', () => {
  let server: E2eServer;
  beforeAll(async () => {
    server = await startE2eServer({ USE_DATABASE_STORAGE: 'false' });
  });
  afterAll(async () => server?.close());

  it('keeps takes in this browser: listed from IndexedDB, still there ' +
    'after a reload, nothing on the server', async () => {
    const page = await browser.context.newPage();
    watchFailures(page, 'flag-off');
    await signUpInUi(page, server.url, 'Local');
    expect(await storageBadge(page)).toBe('browser');

    await prepareRecorder(page, server.url, 'camera');
    const recorded = await recordFor(page, 3);
    const kept = await keepTake(page, 'Kept in this browser');
    expect(kept.kind).toBe('local');

    await page.reload();
    const player = page.getByTestId('player');
    await player.waitFor({ timeout: 30_000 });
    const duration = await player.evaluate(async (el: HTMLMediaElement) => {
      if (el.readyState < 1) await new Promise((r) => el.addEventListener('loadedmetadata', r, { once: true }));
      // A MediaRecorder WebM has no duration in its header; seeking far makes Chromium find the end.
      if (!Number.isFinite(el.duration)) {
        el.currentTime = 1e9;
        await new Promise((r) => el.addEventListener('durationchange', r, { once: true }));
      }
      return el.duration;
    });
    expect(Math.abs(duration - recorded)).toBeLessThan(1.5);

    const card = await libraryCard(page, server.url, kept.id, { waitReady: false });
    await page.reload();
    await card.waitFor();
    expect(Math.abs(Number(await card.getAttribute('data-duration')) - recorded)).toBeLessThanOrEqual(1);
    expect(await storageBadge(page)).toBe('browser');
    await screenshot(page, 'library-browser-storage');

    expect(await serverRecordings(page, server.url)).toEqual([]);
    // Browser storage makes no session either: nothing of the take went to the server.
    for (const state of ['completed', 'unfinished']) {
      const sessions = await page.request.get(`${server.url}/api/sessions?state=${state}`);
      expect(sessions.status()).toBe(200);
      expect(((await sessions.json()) as { items: unknown[] }).items).toEqual([]);
    }
    await page.close();
  }, 150_000);
});

describe('USE_DATABASE_STORAGE=50%', () => {
  let server: E2eServer;
  beforeAll(async () => {
    server = await startE2eServer({ USE_DATABASE_STORAGE: '50%' });
  });
  afterAll(async () => server?.close());

  it('puts users on both sides, each always on the same one', async () => {
    // Sign up until there is a user on each side (each one is a coin toss; 20 misses in a row is ~1e-6).
    const users: Record<'server' | 'browser', { email: string } | undefined> = {
      server: undefined,
      browser: undefined,
    };
    for (let i = 0; i < 20 && (!users.server || !users.browser); i++) {
      const u = await signUp(server.url, `half${i}`);
      users[storageFor(u.userId, 50)] ??= u;
    }
    expect(users.server && users.browser).toBeTruthy();

    for (const side of ['server', 'browser'] as const) {
      const page = await browser.context.newPage();
      watchFailures(page, `flag-50-${side}`);
      await page.context().clearCookies();
      const signIn = async () => {
        await page.goto(`${server.url}/signin`);
        await page.getByLabel('Email').fill(users[side]!.email);
        await page.getByLabel('Password', { exact: true }).fill(TEST_PASSWORD);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByRole('button', { name: 'Sign out' }).waitFor();
      };
      await signIn();
      expect(await storageBadge(page)).toBe(side);
      await page.reload();
      await page.getByTestId('storage-badge').waitFor();
      expect(await storageBadge(page)).toBe(side);
      await screenshot(page, `library-flag-50-${side}`);

      // Same answer from another server process (a restart), and after signing in again.
      await server.stop();
      await server.start();
      await page.getByRole('button', { name: 'Sign out' }).click();
      await signIn();
      expect(await storageBadge(page)).toBe(side);
      const me = await page.request.get(`${server.url}/api/auth/me`);
      expect(((await me.json()) as { features: { storage: string } }).features.storage).toBe(side);
      await page.close();
    }
  }, 150_000);
});

describe('USE_DATABASE_STORAGE false → true → false for one user', () => {
  let server: E2eServer;
  beforeAll(async () => {
    server = await startE2eServer({ USE_DATABASE_STORAGE: 'false' });
  });
  afterAll(async () => server?.close());

  /** The server again with another flag (same database, same port); the page reloaded on it. */
  async function restartWith(page: Page, flag: string, user: { email: string }) {
    await server.stop();
    await server.start({ USE_DATABASE_STORAGE: flag });
    await openSignedIn(page, server.url, user);
  }

  it('offers the browser takes for import when the user moves to the server, and keeps listing (and ' +
    'playing) the server recordings, marked, when the user moves back', async () => {
    const page = await browser.context.newPage();
    watchFailures(page, 'flag-switch');
    const user = await signUpInUi(page, server.url, 'Switcher');
    expect(await storageBadge(page)).toBe('browser');
    await prepareRecorder(page, server.url, 'camera');
    await recordFor(page, 3);
    expect((await keepTake(page, 'Made in the browser')).kind).toBe('local');

    // → server: the browser take is offered, imported, checked and removed here.
    await restartWith(page, 'true', user);
    expect(await storageBadge(page)).toBe('server');
    const banner = page.getByTestId('legacy-import');
    await banner.getByText(/^One recording in this browser/).waitFor({ timeout: 30_000 });
    await banner.getByRole('button', { name: 'Import', exact: true }).click();
    const summary = page.getByTestId('legacy-import-summary');
    await summary.waitFor({ timeout: 60_000 });
    expect(await summary.getAttribute('data-imported')).toBe('1');
    const [imported] = await serverRecordings(page, server.url);
    expect(imported).toMatchObject({ title: 'Made in the browser', recordingType: 'camera' });
    await prepareRecorder(page, server.url, 'camera');
    await recordFor(page, 3);
    expect((await keepTake(page, 'Made on the server')).kind).toBe('server');
    expect((await serverRecordings(page, server.url)).map((r) => r.title).sort()).toEqual([
      'Made in the browser',
      'Made on the server',
    ]);

    // → browser: both server recordings stay in the library, marked, and play; new takes stay here.
    await restartWith(page, 'false', user);
    expect(await storageBadge(page)).toBe('browser');
    await prepareRecorder(page, server.url, 'camera');
    await recordFor(page, 3);
    const local = await keepTake(page, 'Browser again');
    expect(local.kind).toBe('local');
    await page.goto(`${server.url}/`);
    const cards = page.getByTestId('recording-card');
    await expect.poll(() => cards.count(), { timeout: 30_000 }).toBe(3);
    expect(await page.locator('[data-testid="recording-card"][data-where="server"]').count()).toBe(2);
    expect(await page.locator(`[data-testid="recording-card"][data-id="${local.id}"]`).getAttribute('data-where')).toBe(
      null,
    );
    expect(await page.getByTestId('legacy-import').count()).toBe(0);
    await screenshot(page, 'library-flag-switch-browser');
    await page.locator('[data-testid="recording-card"][data-where="server"]').first().getByRole('link').first().click();
    await page.waitForURL(/\/recordings\/[^/]+$/);
    await playAndSeek(page);
    await page.close();
  }, 240_000);
});
