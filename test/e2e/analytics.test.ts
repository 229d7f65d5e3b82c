/**
 * The analytics page in a real Chromium (issue 14). The first account (the administrator) records four
 * takes through the sessions API — interrupted twice with a reason, discarded once, kept once through a
 * tus upload — on two browsers' user agents, spread over the last days by SQL; a second account records
 * one. The page draws its charts (pixels of the series colour on the canvas; screenshot in
 * test-results/e2e/analytics.png), its table views hold the API's numbers, a CSV downloads with the same
 * numbers, the drill-down shows the error and the events, and only the administrator sees the instance
 * panel and the scope selector; the sessions CSV and the type filter work. At 360 px the page does not
 * scroll sideways and names every control.
 */
import fs from 'node:fs';
import { beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { Page } from 'playwright-core';
import type pg from 'pg';
import { COLORS } from '../../src/web/analytics/series.ts';
import type { Summary, SessionDetail } from '../../src/web/analytics/types.ts';
import { signUp } from '../support/app.js';
import { printProblems, screenshot, type LaunchedBrowser } from '../support/browser.js';
import { connect } from '../support/db.js';
import { type E2eServer, withServerAndBrowser } from '../support/e2e.js';
import { call } from '../support/recordings-fixtures.js';
import { sessionsApi } from '../support/sessions.js';
import { createUpload, fakeWebm, patchUpload } from '../support/tus-http.js';

const CHROME_LINUX =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const FIREFOX_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0';
const ERROR = 'Camera disconnected';
/** The outcome series' colours (series.ts COLORS) as the canvas holds them. */
const rgbOf = (hex: string) => [1, 3, 5].map((at) => Number.parseInt(hex.slice(at, at + 2), 16));
const SERIES_RGB = Object.values(COLORS).map(rgbOf);

let server: E2eServer;
let browser: LaunchedBrowser;
withServerAndBrowser((s) => {
  server = s.server;
  browser = s.b;
});

type User = Awaited<ReturnType<typeof signUp>>;
let admin: User;
let other: User;
let interruptedId: string;

/** Moves a session and its events `days` back in time (the API only records "now"). */
async function shiftDays(db: pg.Client, sessionId: string, days: number): Promise<void> {
  await db.query(
    `UPDATE recording_sessions
        SET started_at = started_at - make_interval(days => $2::int),
            ended_at = ended_at - make_interval(days => $2::int),
            last_heartbeat_at = last_heartbeat_at - make_interval(days => $2::int),
            discarded_at = discarded_at - make_interval(days => $2::int)
      WHERE id = $1`,
    [sessionId, days],
  );
  await db.query('UPDATE recording_session_events SET at = at - make_interval(days => $2::int) WHERE session_id = $1', [
    sessionId,
    days,
  ]);
}

/** Four takes of the administrator and one of the other user. */
async function seed(db: pg.Client): Promise<void> {
  const api = sessionsApi(server.url, admin.headers);
  const make = (type: string, userAgent: string) =>
    api.create({ recordingType: type, deviceInfo: { userAgent }, settings: { quality: 'high', mode: type } });

  const interrupted = await make('camera', CHROME_LINUX);
  await api.heartbeat(interrupted.id, { durationMs: 5000 });
  await api.interrupt(interrupted.id, { reason: ERROR });
  interruptedId = interrupted.id;

  const again = await make('camera', FIREFOX_WINDOWS);
  await api.heartbeat(again.id, { durationMs: 8000 });
  await api.interrupt(again.id, { reason: ERROR });

  const discarded = await make('screen', CHROME_LINUX);
  await api.heartbeat(discarded.id, { durationMs: 12_000 });
  await api.discard(discarded.id);

  const kept = await make('camera', CHROME_LINUX);
  await api.heartbeat(kept.id, { durationMs: 3000 });
  await api.setTake(kept.id, { title: 'Kept take', durationMs: 3000 });
  const bytes = fakeWebm(4096);
  const meta = { sessionId: kept.id, recordingType: 'camera', title: 'Kept take', filetype: 'video/webm' };
  const up = await createUpload(server.url, admin.headers, meta, { length: bytes.length });
  expect(up.status).toBe(201);
  expect((await patchUpload(up.location, admin.headers, 0, bytes)).status).toBe(204);
  expect((await api.get(kept.id)).status).toBe('completed');

  await shiftDays(db, interrupted.id, 2);
  await shiftDays(db, again.id, 2);
  await shiftDays(db, discarded.id, 5);

  const theirs = sessionsApi(server.url, other.headers);
  const one = await theirs.create({ recordingType: 'audio', deviceInfo: { userAgent: FIREFOX_WINDOWS } });
  await theirs.interrupt(one.id, { reason: 'Microphone unplugged' });
}

async function signInAs(user: User): Promise<void> {
  await browser.context.clearCookies();
  const cookies = user.cookie.split('; ').map((pair) => {
    const at = pair.indexOf('=');
    return { name: pair.slice(0, at), value: pair.slice(at + 1), url: server.url };
  });
  await browser.context.addCookies(cookies);
}

beforeAll(async () => {
  admin = await signUp(server.url, 'admin');
  other = await signUp(server.url, 'other');
  const db = await connect(server.dbUrl);
  try {
    await seed(db);
  } finally {
    await db.end();
  }
  await signInAs(admin);
});

async function newPage(label: string): Promise<Page> {
  const page = await browser.context.newPage();
  onTestFailed(async () => {
    printProblems(browser, label);
    await screenshot(page, `failed-analytics-${label}`).catch(() => undefined);
  });
  return page;
}

/** Opens the page and returns the summary the API sent it. */
async function openAnalytics(page: Page): Promise<Summary> {
  const answer = page.waitForResponse((r) => r.url().includes('/api/analytics/sessions/summary'));
  await page.goto(`${server.url}/analytics`);
  const response = await answer;
  expect(response.status(), await response.text()).toBe(200);
  const summary = (await response.json()) as Summary;
  await page.getByTestId('analytics-summary').waitFor();
  return summary;
}

const total = (page: Page, key: string) =>
  page.locator(`[data-testid="analytics-totals"] [data-key="${key}"] dd`).textContent();

/** A table's body as text cells ("—" for none). */
const tableRows = (page: Page, testId: string) =>
  page
    .getByTestId(testId)
    .locator('tbody tr')
    .evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent ?? '')));

/** Pixels of the series' colours on a chart's canvas: lines were drawn, not just the axes. */
const seriesPixels = (page: Page, chartId: string) =>
  page.getByTestId(`chart-${chartId}`).evaluate((box, colours) => {
    const canvas = box.querySelector('canvas')!;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    const near = (at: number, [r, g, b]: number[]) =>
      Math.abs(data[at]! - r!) < 8 && Math.abs(data[at + 1]! - g!) < 8 && Math.abs(data[at + 2]! - b!) < 8;
    let hits = 0;
    for (let at = 0; at < data.length; at += 4) if (colours.some((c) => near(at, c))) hits++;
    return hits;
  }, SERIES_RGB);

/** At 360 px the page does not scroll sideways (wide tables scroll in their panel) and every control is named. */
async function fitsAPhone(page: Page): Promise<void> {
  await page.setViewportSize({ width: 360, height: 740 });
  await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
  const unnamed = await page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('input, select, button')]
      .filter((el) => {
        const labels = (el as HTMLInputElement).labels;
        const name = [el.getAttribute('aria-label'), ...[...(labels ?? [])].map((l) => l.textContent)];
        if (el.tagName === 'BUTTON') name.push(el.textContent);
        return !name.some((n) => n?.trim());
      })
      .map((el) => el.outerHTML.slice(0, 120)),
  );
  expect(unnamed).toEqual([]);
  await page.setViewportSize({ width: 1280, height: 800 });
}

const pct = (rate: number | null) => (rate === null ? '—' : String(Math.round(rate * 1000) / 10));
const shown = (v: number | null) => (v === null ? '—' : String(v));

describe('the analytics page', () => {
  it("draws the administrator's sessions; the table views and the CSV hold the API's numbers", async () => {
    const page = await newPage('admin');
    const summary = await openAnalytics(page);
    // Known answers first, so the comparisons below cannot pass on an empty range.
    expect(summary.totals).toMatchObject({ started: 4, completed: 1, interrupted: 2, discarded: 1, active: 0 });
    expect(summary.topErrors).toEqual([{ message: ERROR, count: 2 }]);
    expect(await total(page, 'started')).toBe('4');
    expect(await total(page, 'completion-rate')).toBe(`${pct(summary.totals.completionRate)}%`);

    const chart = page.getByTestId('chart-sessions-per-day');
    await expect.poll(() => chart.getAttribute('data-drawn')).toBe(String(summary.byDay.length));
    expect(await seriesPixels(page, 'sessions-per-day')).toBeGreaterThan(100);
    await page.getByTestId('chart-duration').locator('canvas').first().waitFor();
    await screenshot(page, 'analytics');

    const panel = page.getByTestId('panel-sessions-per-day');
    await panel.getByText('Table view').click();
    const expected = summary.byDay.map((d) => [
      d.day,
      ...[d.started, d.completed, d.interrupted, d.discarded].map(String),
    ]);
    expect(await tableRows(page, 'table-sessions-per-day')).toEqual(expected);
    await page.getByTestId('panel-completion-rate').getByText('Table view').click();
    expect(await tableRows(page, 'table-completion-rate')).toEqual(
      summary.byDay.map((d) => [d.day, pct(d.completionRate)]),
    );
    await page.getByTestId('panel-duration').getByText('Table view').click();
    expect(await tableRows(page, 'table-duration')).toEqual(
      summary.byDay.map((d) => [d.day, shown(d.durationP50), shown(d.durationP95)]),
    );
    expect(await tableRows(page, 'table-top-errors')).toEqual([[ERROR, '2']]);
    await page.getByTestId('panel-interruptions-by-browser').getByText('Table view').click();
    expect(await tableRows(page, 'table-interruptions-by-browser')).toEqual(
      summary.interruptions.byBrowser.map((b) => [b.name, String(b.sessions), String(b.interrupted), pct(b.rate)]),
    );
    expect(summary.interruptions.byBrowser.map((b) => b.name).sort()).toEqual(['Chrome', 'Firefox']);

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      panel.getByRole('button', { name: /Download CSV/ }).click(),
    ]);
    const { from, to } = summary.range;
    expect(download.suggestedFilename()).toBe(`recorder-sessions-per-day-by-outcome-${from}-to-${to}.csv`);
    const csv = fs.readFileSync((await download.path())!, 'utf8');
    const lines = summary.byDay.map((d) => [d.day, d.started, d.completed, d.interrupted, d.discarded].join(','));
    expect(csv).toBe(`Day,Started,Completed,Interrupted,Discarded\r\n${lines.join('\r\n')}\r\n`);
    await page.close();
  });

  it('drills down into an interrupted take: device, settings, the error and its events', async () => {
    const page = await newPage('drill-down');
    await openAnalytics(page);
    const row = page.locator(`[data-testid="sessions-table"] tr[data-id="${interruptedId}"]`);
    expect(await row.getAttribute('data-outcome')).toBe('interrupted');
    await row.getByRole('button').click();
    const detail = page.getByTestId('session-detail');
    await expect.poll(() => detail.getByTestId('session-error').textContent()).toContain(ERROR);
    // Keyboard and screen-reader users are taken to the panel that opened below the list.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('session-detail-title');
    const api = (await call(server.url, 'GET', `/api/analytics/sessions/${interruptedId}`, admin.headers))
      .json as unknown as SessionDetail;
    const kinds = await detail
      .locator('[data-testid="session-events"] li')
      .evaluateAll((lis) => lis.map((li) => li.getAttribute('data-kind')));
    expect(kinds).toEqual(api.events.map((e) => e.kind));
    expect(kinds).toEqual(expect.arrayContaining(['started', 'interrupted']));
    expect(await detail.textContent()).toContain('Chrome');
    expect(await detail.textContent()).toContain('high');

    // The list's CSV: one line per session shown, ids in the list's order.
    const listed = await page
      .locator('[data-testid="sessions-table"] tbody tr')
      .evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-id')));
    expect(listed).toHaveLength(4);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page
        .getByTestId('panel-sessions')
        .getByRole('button', { name: /Download CSV/ })
        .click(),
    ]);
    const lines = fs
      .readFileSync((await download.path())!, 'utf8')
      .trimEnd()
      .split('\r\n');
    expect(lines[0]).toBe('Session,Started,Type,Outcome,Length (s),Browser,OS,Device,Error');
    expect(lines.slice(1).map((line) => line.split(',')[0])).toEqual(listed);
    expect(lines.find((line) => line.startsWith(`${interruptedId},`))).toMatch(
      /,interrupted,5,Chrome,Linux,desktop,Camera disconnected$/,
    );

    // The type filter: screen takes only (the discarded one).
    const screens = page.waitForResponse(
      (r) => r.url().includes('/summary?') && r.url().includes('recordingType=screen'),
    );
    await page.getByRole('combobox', { name: /^Type/ }).selectOption('screen');
    expect(((await (await screens).json()) as Summary).totals).toMatchObject({ started: 1, discarded: 1 });
    await expect.poll(() => total(page, 'started')).toBe('1');
    await page.close();
  });

  it('shows the administrator the instance and everyone; another user sees only their own', async () => {
    const page = await newPage('scopes');
    await openAnalytics(page);
    await page.getByTestId('instance-panel').waitFor();
    expect(await page.getByTestId('instance-storage').locator('tbody tr').count()).toBeGreaterThan(0);
    const everyone = page.waitForResponse((r) => r.url().includes('/summary?') && r.url().includes('scope=all'));
    await page.getByLabel('Scope').selectOption('all');
    expect(((await (await everyone).json()) as Summary).totals.started).toBe(5);
    await expect.poll(() => total(page, 'started')).toBe('5');
    await fitsAPhone(page);

    await signInAs(other);
    const theirs = await openAnalytics(page);
    expect(theirs.totals).toMatchObject({ started: 1, interrupted: 1 });
    expect(theirs.topErrors).toEqual([{ message: 'Microphone unplugged', count: 1 }]);
    expect(await total(page, 'started')).toBe('1');
    expect(await page.getByTestId('instance-panel').count()).toBe(0);
    expect(await page.getByLabel('Scope').count()).toBe(0);
    expect((await call(server.url, 'GET', '/api/admin/instance', other.headers)).status).toBe(404);
    await signInAs(admin);
    await page.close();
  });
});
