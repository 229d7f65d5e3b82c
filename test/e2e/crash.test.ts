/**
 * Never lose a take: a take cut off after ~5 s — by closing the page, and separately by killing the
 * browser process with SIGKILL — is offered for recovery when the app is opened again on the same
 * profile, and the recovered recording is at least 3 s long and plays.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { Page } from 'playwright-core';
import {
  crashBrowser,
  launchBrowser,
  printProblems,
  relaunch,
  screenshot,
  type LaunchedBrowser,
} from '../support/browser.js';
import {
  elapsedSeconds,
  measuredSeconds,
  playAndSeek,
  prepareRecorder,
  processed,
  requireWebBuild,
  serverRecordings,
  signInInUi,
  signUpInUi,
  startE2eServer,
  type UiUser,
  startTake,
  type E2eServer,
} from '../support/e2e.js';

let server: E2eServer;
const browsers: LaunchedBrowser[] = [];

beforeAll(async () => {
  requireWebBuild();
  server = await startE2eServer();
});

afterAll(async () => {
  for (const b of browsers) await b.close({ removeProfile: true });
  await server?.close();
});

async function open(profileDir?: string): Promise<LaunchedBrowser> {
  const b = profileDir ? await relaunch(profileDir) : await launchBrowser();
  browsers.push(b);
  onTestFailed(async () => {
    printProblems(b, profileDir ? 'relaunched browser' : 'browser');
    const page = b.context.pages().at(-1);
    if (page) await screenshot(page, `failed-crash-${profileDir ? 'relaunched' : 'first'}`).catch(() => undefined);
  });
  return b;
}

/** Opens the app, waits for the recovery banner, recovers the one take, returns the new recording's id. */
async function recoverOne(page: Page, name: string, user: UiUser): Promise<string> {
  await page.goto(`${server.url}/`);
  // Chromium writes cookies to disk lazily: after a SIGKILL the person may have to sign in again.
  // The take is in IndexedDB and on the server either way.
  await page
    .getByRole('button', { name: /^Sign (in|out)$/ })
    .first()
    .waitFor({ timeout: 30_000 });
  if (await page.getByRole('button', { name: 'Sign in' }).isVisible()) {
    await signInInUi(page, server.url, user);
    await page.goto(`${server.url}/`);
  }
  const banner = page.getByTestId('recovery');
  await banner.waitFor({ timeout: 60_000 });
  await screenshot(page, `recovery-${name}`);
  const before = new Set((await serverRecordings(page, server.url)).map((r) => r.id));
  await banner.getByRole('button', { name: 'Recover' }).first().click();
  let id: string | undefined;
  await expect
    .poll(
      async () => {
        id = (await serverRecordings(page, server.url)).find((r) => !before.has(r.id))?.id;
        return id;
      },
      { timeout: 60_000, interval: 500 },
    )
    .toBeTruthy();
  return id!;
}

/** recordedSeconds: the elapsed time the page showed just before it died (whole seconds, rounded down). */
async function checkRecovered(page: Page, id: string, name: string, recordedSeconds: number): Promise<void> {
  const rec = await processed(page, server.url, id);
  expect(measuredSeconds(rec)).toBeGreaterThanOrEqual(3);
  // the bound: within 2 s of what was recorded (the display lags the take by under 1 s)
  expect(Math.abs(measuredSeconds(rec) - (recordedSeconds + 0.5))).toBeLessThanOrEqual(2);
  await page.goto(`${server.url}/recordings/${id}`);
  const played = await playAndSeek(page);
  expect(played.duration).toBeGreaterThanOrEqual(3);
  await screenshot(page, `recovered-${name}`);
}

describe('a take cut off mid-recording is recovered', () => {
  it('after the page was closed', async () => {
    const b = await open();
    const page = await b.context.newPage();
    const user = await signUpInUi(page, server.url, 'Closer');
    await prepareRecorder(page, server.url, 'camera');
    await startTake(page);
    await page.waitForTimeout(5500);
    const recorded = await elapsedSeconds(page);
    await page.close(); // no Stop, no Keep: the tab is gone

    const again = await b.context.newPage();
    const id = await recoverOne(again, 'page-closed', user);
    await checkRecovered(again, id, 'page-closed', recorded);
  }, 150_000);

  it('after the browser process was killed (SIGKILL), on the relaunched profile', async () => {
    const b = await open();
    const page = await b.context.newPage();
    const user = await signUpInUi(page, server.url, 'Crasher');
    await prepareRecorder(page, server.url, 'screen-camera');
    await startTake(page);
    await page.waitForTimeout(5500);
    const recorded = await elapsedSeconds(page);
    await crashBrowser(b);

    const b2 = await open(b.profileDir);
    const again = b2.context.pages()[0] ?? (await b2.context.newPage());
    const id = await recoverOne(again, 'browser-killed', user);
    await checkRecovered(again, id, 'browser-killed', recorded);
  }, 150_000);
});
