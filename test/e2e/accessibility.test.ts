/**
 * Accessible and usable on a phone, in a real Chromium at 360x740: the sign-in, sign-up, library,
 * record and player pages do not scroll sideways and every input, select, textarea and button has an
 * accessible name; a person signs up and records, pauses, resumes, stops and keeps a camera take with
 * the keyboard alone (Tab, Enter, Space), and the recorder's state changes are announced through live
 * regions. Screenshots at phone width: test-results/e2e/phone-{library,record,player}.png.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { Page } from 'playwright-core';
import { TEST_PASSWORD } from '../support/app.js';
import { launchBrowser, printProblems, screenshot, type LaunchedBrowser } from '../support/browser.js';
import { processed, requireWebBuild, startE2eServer, waitStartEnabled, type E2eServer } from '../support/e2e.js';

const PHONE = { width: 360, height: 740 };

let server: E2eServer;
let browser: LaunchedBrowser;
let page: Page;
let recordingId: string | undefined;

beforeAll(async () => {
  requireWebBuild();
  server = await startE2eServer();
  browser = await launchBrowser();
  page = await browser.context.newPage();
  await page.setViewportSize(PHONE);
  // Everything any live region (aria-live, role status/alert) says, in order, for the whole visit.
  await page.addInitScript(() => {
    const said: string[] = [];
    (window as unknown as { __announced: string[] }).__announced = said;
    // A region is heard when its text changes: one entry per change of each region.
    const last = new WeakMap<Element, string>();
    const read = () => {
      for (const el of document.querySelectorAll('[aria-live], [role="status"], [role="alert"]')) {
        const text = (el.textContent ?? '').replace(/\s+/g, ' ').trim();
        if (last.get(el) === text) continue;
        last.set(el, text);
        if (text) said.push(text);
      }
    };
    new MutationObserver(read).observe(document, { subtree: true, childList: true, characterData: true });
  });
});

afterAll(async () => {
  await browser?.close({ removeProfile: true });
  await server?.close();
});

function watchFailures(label: string): void {
  onTestFailed(async () => {
    printProblems(browser, label);
    await screenshot(page, `failed-a11y-${label}`).catch(() => undefined);
  });
}

/** Sideways scrolling at phone width: the document is wider than the window. */
async function expectNoHorizontalOverflow(what: string): Promise<void> {
  const m = await page.evaluate(() => {
    const wide = [...document.querySelectorAll<HTMLElement>('body *')]
      .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1 && el.getClientRects().length > 0)
      .slice(0, 5)
      .map((el) => `${el.tagName.toLowerCase()}.${el.className} right=${Math.round(el.getBoundingClientRect().right)}`);
    return { scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, wide };
  });
  expect(
    m.scrollWidth,
    `${what} scrolls sideways at ${m.innerWidth} px; widest: ${m.wide.join(', ')}`,
  ).toBeLessThanOrEqual(m.innerWidth);
}

/** Controls without an accessible name (label, aria-label, aria-labelledby, own text, title). */
async function expectEveryControlNamed(what: string): Promise<number> {
  const r = await page.evaluate(() => {
    const text = (el: Element | null | undefined) => (el?.textContent ?? '').replace(/\s+/g, ' ').trim();
    const nameOf = (el: HTMLElement): string => {
      const aria = el.getAttribute('aria-label')?.trim();
      if (aria) return aria;
      const by = el.getAttribute('aria-labelledby');
      if (by) {
        const t = by
          .split(/\s+/)
          .map((id) => text(document.getElementById(id)))
          .join(' ')
          .trim();
        if (t) return t;
      }
      const labels = (el as HTMLInputElement).labels;
      if (labels?.length) {
        const t = [...labels].map(text).join(' ').trim();
        if (t) return t;
      }
      if (el.tagName === 'BUTTON') {
        const t = text(el);
        if (t) return t;
      }
      if (el instanceof HTMLInputElement && ['submit', 'button', 'reset'].includes(el.type) && el.value)
        return el.value;
      return el.getAttribute('title')?.trim() ?? '';
    };
    const controls = [
      ...document.querySelectorAll<HTMLElement>('input:not([type="hidden"]), select, textarea, button'),
    ];
    return {
      count: controls.length,
      unnamed: controls.filter((el) => !nameOf(el)).map((el) => el.outerHTML.slice(0, 160)),
    };
  });
  expect(r.unnamed, `${what}: controls without an accessible name`).toEqual([]);
  return r.count;
}

async function checkPage(what: string): Promise<void> {
  await expectNoHorizontalOverflow(what);
  expect(await expectEveryControlNamed(what)).toBeGreaterThan(0);
}

/** What has keyboard focus, by its accessible name. */
function focused(): Promise<string> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el || el === document.body) return '';
    const label = (el as HTMLInputElement).labels?.[0]?.textContent;
    return (el.getAttribute('aria-label') ?? label ?? el.textContent ?? '').replace(/\s+/g, ' ').trim();
  });
}

/** Presses Tab until the control named `name` has focus, as a keyboard user moves through the page. */
async function tabTo(name: string | RegExp, max = 80): Promise<void> {
  const seen: string[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const now = await focused();
    if (typeof name === 'string' ? now === name : name.test(now)) return;
    seen.push(now);
  }
  throw new Error(`Tab never reached "${name}"; focus went through: ${seen.join(' | ')}`);
}

const announced = () => page.evaluate(() => (window as unknown as { __announced: string[] }).__announced);

describe('at phone width (360x740)', () => {
  it('the sign-in and sign-up pages fit and name every control', async () => {
    watchFailures('auth');
    await page.goto(`${server.url}/signin`);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await checkPage('sign-in page');
    await page.goto(`${server.url}/signup`);
    await page.getByRole('button', { name: 'Sign up' }).waitFor();
    await checkPage('sign-up page');
  });

  it('signs up and records, pauses, resumes, stops and keeps a camera take with the keyboard alone', async () => {
    watchFailures('keyboard');
    const email = `keys-${Math.random().toString(36).slice(2, 8)}@example.com`;
    await page.goto(`${server.url}/signup`);
    await page.getByRole('button', { name: 'Sign up' }).waitFor();
    await tabTo('Name');
    await page.keyboard.type('Keyboard Person');
    await tabTo('Email');
    await page.keyboard.type(email);
    await tabTo('Password');
    await page.keyboard.type(TEST_PASSWORD);
    await tabTo('Sign up');
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();

    await tabTo(/^(Record|New recording)$/);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/record$/);
    await waitStartEnabled(page);
    await checkPage('record page');
    await screenshot(page, 'phone-record');

    await tabTo('Start recording');
    await page.keyboard.press('Enter');
    await page.getByTestId('elapsed').waitFor({ timeout: 15_000 });
    await page.getByTestId('countdown').waitFor({ state: 'detached', timeout: 15_000 });
    await expectNoHorizontalOverflow('record page while recording');
    await page.waitForTimeout(1500);
    // Focus was kept on the stage when the Start button went away: the controls are the next stops.
    await tabTo('Pause', 5);
    await page.keyboard.press('Space');
    await page.getByRole('button', { name: 'Resume' }).waitFor();
    expect(await focused()).toBe('Resume'); // the same button, relabelled: focus is not lost
    await page.keyboard.press('Space');
    await page.getByRole('button', { name: 'Pause' }).waitFor();
    await page.waitForTimeout(1500);
    await tabTo('Stop', 5);
    await page.keyboard.press('Space');

    await page.getByLabel('Title').waitFor({ timeout: 30_000 });
    await checkPage('review');
    await tabTo('Title');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('Recorded with the keyboard');
    await tabTo('Keep');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/recordings\/[^/]+$/, { timeout: 60_000 });
    recordingId = new URL(page.url()).pathname.split('/').pop();

    // Each state change of the take was said by a live region, in order.
    const said = await announced();
    const at = (re: RegExp) => said.findIndex((s) => re.test(s));
    const order = [/Recording starts in \d/, /^Recording\b/, /^Paused\b/];
    for (const re of order)
      expect(at(re), `never announced ${re}; live regions said: ${JSON.stringify(said)}`).toBeGreaterThanOrEqual(0);
    expect(at(/Recording starts in/)).toBeLessThan(at(/^Paused\b/));
    expect(
      said.slice(at(/^Paused\b/)).some((s) => /^Recording\b/.test(s)),
      `resuming is announced; live regions said: ${JSON.stringify(said)}`,
    ).toBe(true);
  }, 60_000);

  it('the library and the player fit and name every control', async () => {
    watchFailures('library-player');
    expect(recordingId, 'the keyboard test kept a recording').toBeTruthy();
    await processed(page, server.url, recordingId!);
    await page.goto(`${server.url}/recordings/${recordingId}`);
    await page.getByTestId('player').waitFor();
    await page.getByRole('heading', { name: 'Recorded with the keyboard' }).waitFor();
    await checkPage('player page');
    await screenshot(page, 'phone-player');

    await page.goto(`${server.url}/`);
    const card = page.locator(`[data-testid="recording-card"][data-id="${recordingId}"]`);
    await card.locator('img').waitFor();
    await checkPage('library');
    // The card menu opens on a narrow screen without pushing the page sideways.
    await page.getByRole('button', { name: 'Actions for Recorded with the keyboard' }).click();
    await page.getByRole('button', { name: 'Rename' }).waitFor();
    await checkPage('library with a card menu open');
    await page.keyboard.press('Escape');
    await screenshot(page, 'phone-library');
  });
});
