/**
 * The account's security in the web app, as a user sees it: the sign-up form shows why a password is
 * refused (the strength estimator's words, under the field), and "End all sessions" signs out this
 * browser and every other device.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { TEST_PASSWORD } from '../support/app.js';
import { type LaunchedBrowser, launchBrowser, printProblems, screenshot } from '../support/browser.js';
import { type E2eServer, requireWebBuild, startE2eServer } from '../support/e2e.js';

let server: E2eServer;
let browser: LaunchedBrowser;
let page: Page;

beforeAll(async () => {
  requireWebBuild();
  server = await startE2eServer();
  browser = await launchBrowser();
  page = await browser.context.newPage();
});

afterAll(async () => {
  await browser?.close({ removeProfile: true });
  await server?.close();
});

function watchFailures(label: string): void {
  onTestFailed(async () => {
    printProblems(browser, label);
    await screenshot(page, `failed-account-${label}`).catch(() => undefined);
  });
}

describe('account security in the web app', () => {
  it('sign-up says why a password is too easy to guess, then takes a strong one', async () => {
    watchFailures('weak-password');
    const email = `weak-${Math.random().toString(36).slice(2, 8)}@example.com`;
    await page.goto(`${server.url}/signup`);
    await page.getByLabel('Name').fill('Weak Password');
    await page.getByLabel('Email').fill(email);
    const password = page.getByLabel('Password', { exact: true });
    await password.fill('password');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await expect.poll(() => password.getAttribute('aria-invalid')).toBe('true');
    // The estimator's warning, tied to the field for screen readers.
    const describedBy = (await password.getAttribute('aria-describedby')) ?? '';
    const words = await page.evaluate(
      (ids) => ids.map((id) => document.getElementById(id)?.textContent ?? '').join(' '),
      describedBy.split(' '),
    );
    expect(words).toContain('This is a heavily used password.');
    expect(await page.getByRole('alert').first().textContent()).toContain('harder to guess');

    await password.fill(TEST_PASSWORD);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  });

  it('"End all sessions" signs out this browser and every other device', async () => {
    watchFailures('end-all');
    const email = `everywhere-${Math.random().toString(36).slice(2, 8)}@example.com`;
    await page.context().clearCookies();
    await page.goto(`${server.url}/signup`);
    await page.getByLabel('Name').fill('Many Devices');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password', { exact: true }).fill(TEST_PASSWORD);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();

    // Another device: a sign-in of its own.
    const other = await fetch(`${server.url}/api/auth/signin`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: TEST_PASSWORD }),
    });
    const otherCookie = other.headers.getSetCookie()[0]!.split(';')[0]!;
    const me = () => fetch(`${server.url}/api/auth/me`, { headers: { cookie: otherCookie } });
    expect((await me()).status).toBe(200);

    await page.getByRole('button', { name: 'End all sessions' }).click();
    const dialog = page.getByRole('dialog', { name: 'Sign out on every device?' });
    await dialog.getByRole('button', { name: 'End all sessions' }).click();
    await page.waitForURL(/\/signin$/);
    expect((await me()).status).toBe(401);
    await page.goto(`${server.url}/`);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
  });
});
