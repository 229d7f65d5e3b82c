/**
 * What the browser tests share: a whole server that can be stopped and started again on the same port,
 * database and DATA_DIR (the "server down mid-take" test), the web build check, and the UI steps
 * written against the stable hooks of docs/web-architecture.md.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, inject } from 'vitest';
import type { Page, Response } from 'playwright-core';
import { loadConfig } from '../../src/server/config.js';
import { createLogger } from '../../src/server/logger.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { type LaunchedBrowser, launchBrowser } from './browser.js';
import { TEST_PASSWORD } from './app.js';
import { freshDatabase } from './db.js';

export type Mode = 'camera' | 'audio' | 'screen' | 'screen-camera' | 'slides' | 'slides-camera';
export const MODES: Mode[] = ['camera', 'audio', 'screen', 'screen-camera', 'slides', 'slides-camera'];

/** Fails the e2e test with Vite's message when the global setup could not build the app. */
export function requireWebBuild(): void {
  const web = inject('webBuild');
  if (!web.ok) throw new Error(`the web app did not build, so the browser tests cannot run:\n${web.error}`);
  if (web.skipped) throw new Error('the global setup skipped the web build (no e2e file in the filters?)');
}

export interface E2eServer {
  url: string;
  port: number;
  dbUrl: string;
  running(): RunningServer | undefined;
  /** Stops HTTP, jobs and the database pool; the data stays. */
  stop(): Promise<void>;
  /** Starts again on the same port, database and DATA_DIR; `env` changes settings from now on. */
  start(env?: Record<string, string>): Promise<void>;
  /** Stops and drops everything. */
  close(): Promise<void>;
}

export async function startE2eServer(env: Record<string, string> = {}): Promise<E2eServer> {
  const target = inject('pgTargets').find((t) => t.name === 'embedded-pg18') ?? inject('pgTargets')[0];
  if (!target) throw new Error('no PostgreSQL target (TEST_PG_TARGETS)');
  const db = await freshDatabase(target);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-e2e-'));
  const logger = createLogger((process.env.TEST_LOG_LEVEL as 'info') ?? 'silent');
  let port = 0;
  let current: RunningServer | undefined;
  let settings = env;
  const start = async (changed: Record<string, string> = {}) => {
    settings = { ...settings, ...changed };
    const config = loadConfig({
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      // Crash tests wait for the stale-session sweep; it should not take the default 45 s.
      SESSION_STALE_SECONDS: '15',
      ...settings,
    });
    current = await startServer(config, logger);
    port = Number(new URL(current.url).port);
  };
  await start();
  const self: E2eServer = {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    dbUrl: db.url,
    running: () => current,
    async stop() {
      const s = current;
      current = undefined;
      await s?.stop();
    },
    start,
    async close() {
      await self.stop();
      await db.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return self;
}

export interface UiUser {
  email: string;
  password: string;
  name: string;
}

/** Signs up through the sign-up page; lands signed in on the library. */
export async function signUpInUi(page: Page, baseUrl: string, name = 'Tester'): Promise<UiUser> {
  const user = {
    email: `${name.toLowerCase().replace(/\W+/g, '-')}-${Math.random().toString(36).slice(2, 8)}@example.com`,
    password: TEST_PASSWORD,
    name,
  };
  await page.context().clearCookies(); // a fresh account, whoever was signed in before
  await page.goto(`${baseUrl}/signup`);
  await page.getByLabel('Name').fill(user.name);
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  return user;
}

/** Signs in through the sign-in page. */
export async function signInInUi(
  page: Page,
  baseUrl: string,
  user: { email: string; password?: string },
): Promise<void> {
  await page.goto(`${baseUrl}/signin`);
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password', { exact: true }).fill(user.password ?? TEST_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

export async function storageBadge(page: Page): Promise<'server' | 'browser'> {
  const text = (await page.getByTestId('storage-badge').textContent()) ?? '';
  if (/this browser/i.test(text)) return 'browser';
  if (/server/i.test(text)) return 'server';
  throw new Error(`storage badge says neither "server" nor "this browser": ${text}`);
}

/** Three PNG slides made by ffmpeg's test source (a different pattern on each). */
export function slideImages(dir: string): string[] {
  const files: string[] = [];
  const sources = ['testsrc=size=1280x720', 'smptebars=size=1280x720', 'rgbtestsrc=size=1280x720'];
  sources.forEach((src, i) => {
    const file = path.join(dir, `slide-${i + 1}.png`);
    const r = spawnFfmpeg(['-f', 'lavfi', '-i', src, '-frames:v', '1', file]);
    if (r !== 0) throw new Error(`ffmpeg could not make ${file}`);
    files.push(file);
  });
  return files;
}

function spawnFfmpeg(args: string[]): number | null {
  return spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args]).status;
}

/** Elapsed seconds shown by the recorder (`m:ss` or `h:mm:ss`). */
export async function elapsedSeconds(page: Page): Promise<number> {
  const text = ((await page.getByTestId('elapsed').textContent()) ?? '').trim();
  const parts = text.split(':').map(Number);
  if (parts.some((n) => Number.isNaN(n))) throw new Error(`unreadable elapsed time: ${text}`);
  return parts.reduce((acc, n) => acc * 60 + n, 0);
}

/** Opens the record page in a mode, ready to start (slides loaded when the mode needs them). */
export async function prepareRecorder(page: Page, baseUrl: string, mode: Mode, slides?: string[]): Promise<void> {
  await page.goto(`${baseUrl}/record`);
  // Let the default mode's preview start first, as a person reading the page would
  // (switching during it is covered by its own test in modes.test.ts).
  // (The app may remember the last mode: a slides mode waits for a file, not for a preview.)
  const start = page.getByRole('button', { name: 'Start recording' });
  const slidesInput = page.getByLabel('Slides (PDF or images)');
  await expect
    .poll(async () => (await start.isEnabled()) || (await slidesInput.isVisible()), { timeout: 30_000 })
    .toBe(true);
  await page.locator(`[data-mode="${mode}"]`).click();
  await expect.poll(() => page.locator(`[data-mode="${mode}"]`).getAttribute('aria-checked')).toBe('true');
  if (mode === 'slides' || mode === 'slides-camera') {
    if (!slides) throw new Error(`${mode} needs slides`);
    await page.getByLabel('Slides (PDF or images)').setInputFiles(slides);
  }
  await waitStartEnabled(page);
}

export async function waitStartEnabled(page: Page, timeout = 30_000): Promise<void> {
  const start = page.getByRole('button', { name: 'Start recording' });
  await start.waitFor({ timeout });
  await expect.poll(() => start.isEnabled(), { timeout, message: '"Start recording" never became enabled' }).toBe(true);
}

/**
 * Starts a take and waits until the clock runs; returns the wall time (ms) the recording started,
 * calibrated on the elapsed display turning 1 s (so start-up latency after the countdown is not
 * counted as recorded time).
 */
export async function startTake(page: Page): Promise<number> {
  await page.getByRole('button', { name: 'Start recording' }).click();
  await page.getByTestId('elapsed').waitFor({ timeout: 15_000 });
  await page.getByTestId('countdown').waitFor({ state: 'detached', timeout: 15_000 });
  const deadline = Date.now() + 15_000;
  while ((await elapsedSeconds(page)) < 1) {
    if (Date.now() > deadline) throw new Error('the elapsed time did not reach 1 s within 15 s of the countdown');
    await page.waitForTimeout(20);
  }
  return Date.now() - 1000;
}

/** Records for about `seconds` (by the wall clock from the moment the clock started), then stops. */
export async function recordFor(
  page: Page,
  seconds: number,
  opts: { duringTake?: (elapsedMs: number) => Promise<void> } = {},
): Promise<number> {
  const started = await startTake(page);
  if (opts.duringTake) await opts.duringTake(Date.now() - started);
  const left = seconds * 1000 - (Date.now() - started);
  if (left > 0) await page.waitForTimeout(left);
  await page.getByRole('button', { name: 'Stop' }).click();
  await page.getByLabel('Title').waitFor({ timeout: 30_000 });
  return (Date.now() - started) / 1000;
}

/** Fills the review form and keeps the take; returns where the app went (`/recordings/:id` or `/local/:id`). */
export async function keepTake(page: Page, title: string): Promise<{ kind: 'server' | 'local'; id: string }> {
  await page.getByLabel('Title').fill(title);
  await page.getByRole('button', { name: 'Keep' }).click();
  // Fail with the app's own words when it says the take was not saved, rather than at the timeout.
  const refused = page.getByText(/^Not saved yet/);
  const navigated = page.waitForURL(/\/(recordings|local)\/[^/]+$/, { timeout: 90_000 }).then(() => 'kept' as const);
  const refusal = refused.waitFor({ timeout: 90_000 }).then(
    () => 'refused' as const,
    () => 'none' as const,
  );
  navigated.catch(() => undefined); // the race below reports it; the loser must not be an unhandled rejection
  if ((await Promise.race([navigated, refusal])) === 'refused')
    throw new Error(`Keep failed: ${await refused.textContent()}`);
  const m = /\/(recordings|local)\/([^/?#]+)/.exec(new URL(page.url()).pathname)!;
  return { kind: m[1] === 'recordings' ? 'server' : 'local', id: decodeURIComponent(m[2]!) };
}

/** The library card of a recording, after the server processed it (thumbnail, duration). */
export async function libraryCard(page: Page, baseUrl: string, id: string, opts: { waitReady?: boolean } = {}) {
  await page.goto(`${baseUrl}/`);
  const card = page.locator(`[data-testid="recording-card"][data-id="${id}"]`);
  await card.waitFor({ timeout: 30_000 });
  if (opts.waitReady !== false) {
    // Processing (probe, duration fix, thumbnail) runs in the server's jobs; reload until it is done.
    for (let i = 0; i < 60 && (await card.getAttribute('data-status')) !== 'completed'; i++) {
      await page.waitForTimeout(1000);
      await page.reload();
      await card.waitFor({ timeout: 30_000 });
    }
    expect(await card.getAttribute('data-status')).toBe('completed');
  }
  return card;
}

/**
 * Plays the player on the current page, then seeks and checks the media element follows; returns the
 * media responses seen (the server answers Range requests with 206).
 */
export async function playAndSeek(page: Page): Promise<{ duration: number; statuses: number[] }> {
  const statuses: number[] = [];
  const onResponse = (r: Response) => {
    if (/\/api\/recordings\/[^/]+\/media/.test(r.url()) || r.request().resourceType() === 'media')
      statuses.push(r.status());
  };
  page.on('response', onResponse);
  try {
    const player = page.getByTestId('player');
    await player.waitFor({ timeout: 30_000 });
    await player.evaluate(async (el: HTMLMediaElement) => {
      if (el.readyState < 1) await new Promise((r) => el.addEventListener('loadedmetadata', r, { once: true }));
    });
    await player.evaluate((el: HTMLMediaElement) => el.play());
    await expect
      .poll(() => player.evaluate((el: HTMLMediaElement) => el.currentTime), { timeout: 15_000 })
      .toBeGreaterThan(0.3);
    const duration = await player.evaluate((el: HTMLMediaElement) => el.duration);
    expect(Number.isFinite(duration)).toBe(true);
    const target = Math.max(0.5, duration - 1);
    await player.evaluate(async (el: HTMLMediaElement, t: number) => {
      el.pause();
      const seeked = new Promise((r) => el.addEventListener('seeked', r, { once: true }));
      el.currentTime = t;
      await seeked;
    }, target);
    const at = await player.evaluate((el: HTMLMediaElement) => el.currentTime);
    expect(Math.abs(at - target)).toBeLessThan(0.5);
    return { duration, statuses };
  } finally {
    page.off('response', onResponse);
  }
}

export interface ServerRecording {
  id: string;
  title: string;
  recordingType: string;
  status: string;
  duration: number | null;
  mimeType: string | null;
  thumbnailUrl: string | null;
  metadata: Record<string, unknown>;
}

/** GET /api/recordings/:id with the page's cookies (the same user as the UI). */
export async function serverRecording(page: Page, baseUrl: string, id: string): Promise<ServerRecording> {
  const res = await page.request.get(`${baseUrl}/api/recordings/${id}`);
  if (!res.ok()) throw new Error(`GET /api/recordings/${id}: ${res.status()} ${await res.text()}`);
  return (await res.json()) as ServerRecording;
}

/** The signed-in user's recordings, newest first. */
export async function serverRecordings(page: Page, baseUrl: string): Promise<ServerRecording[]> {
  const res = await page.request.get(`${baseUrl}/api/recordings?limit=100`);
  if (!res.ok()) throw new Error(`GET /api/recordings: ${res.status()} ${await res.text()}`);
  return ((await res.json()) as { items: ServerRecording[] }).items;
}

/** Waits until the server finished processing a recording (status completed) and returns it. */
export async function processed(page: Page, baseUrl: string, id: string, timeoutMs = 60_000): Promise<ServerRecording> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await serverRecording(page, baseUrl, id);
    if (r.status === 'completed') return r;
    if (r.status === 'failed') throw new Error(`recording ${id} failed processing: ${JSON.stringify(r.metadata)}`);
    if (Date.now() > deadline) throw new Error(`recording ${id} still ${r.status} after ${timeoutMs} ms`);
    await page.waitForTimeout(500);
  }
}

/** Exact duration in seconds the server measured (metadata.duration_ms), else the whole-second column. */
export function measuredSeconds(r: ServerRecording): number {
  const ms = r.metadata.duration_ms;
  return typeof ms === 'number' ? ms / 1000 : (r.duration ?? 0);
}

/**
 * For a test file: checks the web build, starts an e2e server and a Chromium with media permission
 * granted before all its tests, hands both to use, and closes both (the profile removed) after them.
 */
export function withServerAndBrowser(use: (s: { server: E2eServer; b: LaunchedBrowser }) => void): void {
  let server: E2eServer | undefined;
  let b: LaunchedBrowser | undefined;
  beforeAll(async () => {
    requireWebBuild();
    server = await startE2eServer();
    b = await launchBrowser(undefined, { mediaPermission: 'granted' });
    use({ server, b });
  });
  afterAll(async () => {
    await b?.close({ removeProfile: true });
    await server?.close();
  });
}
