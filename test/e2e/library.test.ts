/**
 * The library in a real Chromium over a seeded account: 120 recordings written straight into the
 * database (the column set of test/support/recordings-fixtures.ts), plus one that failed processing
 * and one still processing. Newest first, infinite scroll and the keyboard "Load more", the Type and
 * Project filters, search, the processing/failed states with Retry, and rename, move and delete from
 * the card menu — each change checked again after a reload and against the API.
 * Jobs are off so the seeded states stay as written (a retried recording stays `processing`).
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { Page } from 'playwright-core';
import { launchBrowser, printProblems, screenshot, type LaunchedBrowser } from '../support/browser.js';
import { signUp } from '../support/app.js';
import { connect } from '../support/db.js';
import { requireWebBuild, startE2eServer, type E2eServer } from '../support/e2e.js';
import { insertProject, insertRecording } from '../support/recordings-fixtures.js';

const SEEDED = 120;
const PAGE = 50; // useLibrary's page size
const FAILED_WHY = 'ffprobe could not read the uploaded file: it is not a media file';

let server: E2eServer;
let browser: LaunchedBrowser;
let db: pg.Client;
let user: Awaited<ReturnType<typeof signUp>>;
let alpha: string;
let beta: string;
let failedId: string;
let processingId: string;
/** Every seeded id, newest first (created_at desc, id desc: the API's keyset order). */
let newestFirst: string[];

beforeAll(async () => {
  requireWebBuild();
  server = await startE2eServer({ JOBS_ENABLED: 'false' });
  db = await connect(server.dbUrl);
  user = await signUp(server.url, 'librarian');
  alpha = await insertProject(db, user.userId, 'Alpha');
  beta = await insertProject(db, user.userId, 'Beta');
  // One statement for the bulk: row n is n minutes old, the types cycle, every third is in Alpha.
  await db.query(
    `INSERT INTO recordings (user_id, project_id, title, description, recording_type, duration, file_size, quality,
                             status, metadata, mime_type, created_at)
     SELECT $1, CASE WHEN n % 3 = 0 THEN $2::bigint END,
            CASE WHEN n = 77 THEN 'Quarterly kangaroo review' ELSE 'Seeded ' || lpad(n::text, 3, '0') END,
            NULL, (ARRAY['camera','audio','screen','screen-camera','slides','slides-camera'])[n % 6 + 1],
            30 + n, 1000000 + n, 'medium', 'completed', '{}'::jsonb, 'video/webm', now() - make_interval(mins => n)
     FROM generate_series(1, $3::int) AS n`,
    [user.userId, alpha, SEEDED],
  );
  // The two newest: they are on the first page without scrolling.
  failedId = await insertRecording(db, {
    userId: user.userId,
    title: 'Broken upload',
    status: 'failed',
    metadata: { error: FAILED_WHY },
    type: 'screen',
  });
  processingId = await insertRecording(db, {
    userId: user.userId,
    title: 'Still processing',
    status: 'processing',
    metadata: { progress: 0.42 },
    type: 'camera',
    createdAt: new Date(Date.now() - 1000),
  });
  const { rows } = await db.query<{ id: string }>(
    `SELECT id::text FROM recordings WHERE user_id = $1 ORDER BY created_at DESC, id DESC`,
    [user.userId],
  );
  newestFirst = rows.map((r) => r.id);

  browser = await launchBrowser();
  const [name, value] = user.cookie.split(';')[0]!.split('=') as [string, string];
  await browser.context.addCookies([{ name, value, url: server.url }]);
});

afterAll(async () => {
  await browser?.close({ removeProfile: true });
  await db?.end();
  await server?.close();
});

const cards = (page: Page) => page.getByTestId('recording-card');
const cardIds = (page: Page) => cards(page).evaluateAll((els) => els.map((e) => e.getAttribute('data-id')!));
const card = (page: Page, id: string) => page.locator(`[data-testid="recording-card"][data-id="${id}"]`);

async function openLibrary(page: Page): Promise<void> {
  await page.goto(`${server.url}/`);
  await expect.poll(() => cards(page).count(), { timeout: 30_000 }).toBe(PAGE);
}

async function idsWhere(sql: string, params: unknown[]): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id::text FROM recordings WHERE user_id = $1 AND ${sql} ORDER BY created_at DESC, id DESC`,
    [user.userId, ...params],
  );
  return rows.map((r) => r.id);
}

async function newPage(label: string): Promise<Page> {
  const page = await browser.context.newPage();
  onTestFailed(async () => {
    printProblems(browser, label);
    await screenshot(page, `failed-library-${label}`).catch(() => undefined);
  });
  return page;
}

describe('library over a seeded account', () => {
  it('lists newest first and loads more on scroll, and by keyboard with "Load more"', async () => {
    const page = await newPage('paging');
    await openLibrary(page);
    expect(await cardIds(page)).toEqual(newestFirst.slice(0, PAGE));
    // Nothing more loads until the end of the list comes near.
    await page.waitForTimeout(500);
    expect(await cards(page).count()).toBe(PAGE);
    await page.locator('.sentinel').scrollIntoViewIfNeeded();
    await expect.poll(() => cards(page).count(), { timeout: 15_000 }).toBe(2 * PAGE);
    expect(await cardIds(page)).toEqual(newestFirst.slice(0, 2 * PAGE));

    // Without IntersectionObserver (old browsers, or a keyboard user the sentinel never reaches in
    // time) the button is the way on: Enter and Space both press it.
    const kb = await newPage('load-more');
    await kb.addInitScript(() => void delete (window as { IntersectionObserver?: unknown }).IntersectionObserver);
    await openLibrary(kb);
    const more = kb.getByRole('button', { name: 'Load more' });
    await more.focus();
    await kb.keyboard.press('Enter');
    await expect.poll(() => cards(kb).count(), { timeout: 15_000 }).toBe(2 * PAGE);
    await more.focus();
    await kb.keyboard.press('Space');
    await expect.poll(() => cards(kb).count(), { timeout: 15_000 }).toBe(newestFirst.length);
    expect(await cardIds(kb)).toEqual(newestFirst);
    await expect.poll(() => more.count()).toBe(0); // the end: no button
    await kb.close();
    await page.close();
  }, 60_000);

  it('filters by type and by project, and search finds a title', async () => {
    const page = await newPage('filters');
    await openLibrary(page);
    await page.getByLabel('Type').selectOption('audio');
    const audio = await idsWhere(`recording_type = 'audio'`, []);
    expect(audio.length).toBeGreaterThan(5);
    await expect.poll(() => cardIds(page), { timeout: 15_000 }).toEqual(audio);

    await page.getByLabel('Type').selectOption('');
    await page.getByLabel('Project', { exact: true }).selectOption({ label: 'Alpha' });
    const inAlpha = await idsWhere(`project_id = $2`, [alpha]);
    expect(inAlpha.length).toBe(SEEDED / 3);
    await expect.poll(() => cardIds(page), { timeout: 15_000 }).toEqual(inAlpha);

    await page.getByLabel('Project', { exact: true }).selectOption('');
    await page.getByLabel('Search').fill('kangaroo');
    await expect
      .poll(() => cardIds(page), { timeout: 15_000 })
      .toEqual(await idsWhere(`title = 'Quarterly kangaroo review'`, []));
    await expect.poll(() => cards(page).first().textContent()).toContain('Quarterly kangaroo review');
    await page.close();
  });

  it('shows processing progress, says why one failed, and Retry sends it back to processing', async () => {
    const page = await newPage('status');
    await openLibrary(page);
    const proc = card(page, processingId);
    expect(await proc.getAttribute('data-status')).toBe('processing');
    expect(await proc.textContent()).toContain('Processing 42%');
    expect(await proc.locator('progress').evaluate((p: HTMLProgressElement) => p.value)).toBe(42);

    const failed = card(page, failedId);
    expect(await failed.getAttribute('data-status')).toBe('failed');
    expect(await failed.textContent()).toContain(FAILED_WHY);
    const retried = page.waitForResponse(
      (r) => r.request().method() === 'POST' && r.url().endsWith(`/api/recordings/${failedId}/retry`),
    );
    await failed.getByRole('button', { name: 'Retry' }).click();
    expect((await retried).status()).toBe(200);
    await expect.poll(() => failed.getAttribute('data-status')).toBe('processing');
    expect(await failed.getByRole('button', { name: 'Retry' }).count()).toBe(0);
    const res = await page.request.get(`${server.url}/api/recordings/${failedId}`);
    expect(((await res.json()) as { status: string }).status).toBe('processing');
    await page.close();
  });

  it('renames, moves to a project and deletes (after a confirmation) from the card menu, persisted', async () => {
    const page = await newPage('actions');
    await openLibrary(page);
    const [renameId, moveId, deleteId] = [newestFirst[3]!, newestFirst[4]!, newestFirst[5]!];
    const titleOf = async (id: string) => (await card(page, id).locator('.card-title').textContent())!.trim();
    const menu = async (id: string) =>
      page.getByRole('button', { name: `Actions for ${await titleOf(id)}`, exact: true }).click();

    await menu(renameId);
    await page.getByRole('button', { name: 'Rename', exact: true }).click();
    await page.getByLabel('New title').fill('Renamed by the e2e test');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect.poll(() => titleOf(renameId)).toBe('Renamed by the e2e test');

    await menu(moveId);
    await page.getByRole('button', { name: 'Move to project', exact: true }).click();
    await page.getByLabel('Move to project').selectOption({ label: 'Beta' });
    await page.getByRole('button', { name: 'Move', exact: true }).click();
    await expect.poll(() => card(page, moveId).getByLabel('Move to project').count()).toBe(0);

    const deleteTitle = await titleOf(deleteId);
    await menu(deleteId);
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain(deleteTitle);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    expect(await card(page, deleteId).count()).toBe(1);
    expect((await page.request.get(`${server.url}/api/recordings/${deleteId}`)).status()).toBe(200);

    await menu(deleteId);
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await dialog.getByRole('button', { name: 'Yes, remove it' }).click();
    await expect.poll(() => card(page, deleteId).count()).toBe(0);
    await screenshot(page, 'library-actions');

    // After a reload: all three stuck, on the server too.
    await openLibrary(page);
    expect(await titleOf(renameId)).toBe('Renamed by the e2e test');
    expect(await card(page, deleteId).count()).toBe(0);
    await page.getByLabel('Project', { exact: true }).selectOption({ label: 'Beta' });
    await expect.poll(() => cardIds(page), { timeout: 15_000 }).toEqual([moveId]);
    const get = (id: string) => page.request.get(`${server.url}/api/recordings/${id}`);
    expect(((await (await get(renameId)).json()) as { title: string }).title).toBe('Renamed by the e2e test');
    expect(((await (await get(moveId)).json()) as { projectId: string }).projectId).toBe(beta);
    const gone = await get(deleteId);
    expect(gone.status()).toBe(404);
    expect(((await gone.json()) as { code: string }).code).toBe('RECORDING_NOT_FOUND');
    await page.close();
  });
});
