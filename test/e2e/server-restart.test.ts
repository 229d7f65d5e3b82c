/**
 * The server goes away in the middle of a take and comes back on the same address: recording goes on
 * locally, the UI says the server is unreachable, the upload resumes by itself, and the kept recording
 * holds the whole take (its duration is the full time recorded, its bytes match the browser's).
 */
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import { launchBrowser, printProblems, screenshot, type LaunchedBrowser } from '../support/browser.js';
import {
  keepTake,
  measuredSeconds,
  playAndSeek,
  prepareRecorder,
  processed,
  requireWebBuild,
  signUpInUi,
  startE2eServer,
  startTake,
  type E2eServer,
} from '../support/e2e.js';

let server: E2eServer;

const SIZE = /(\d+(?:\.\d+)?)\s*(k|M|G)?B\b/g;
function describesServerDown(status: string): boolean {
  if (/unreachable|not reachable|offline|can.t reach|cannot reach|no connection|reconnect|server is down/i.test(status))
    return true;
  const unit = { k: 1e3, M: 1e6, G: 1e9 } as Record<string, number>;
  const sizes = [...status.matchAll(SIZE)].map((m) => Number(m[1]) * (m[2] ? unit[m[2]]! : 1));
  return sizes.length >= 2 && sizes[0]! > sizes[1]!;
}
let browser: LaunchedBrowser;

beforeAll(async () => {
  requireWebBuild();
  server = await startE2eServer();
  browser = await launchBrowser();
}, 150_000);

afterAll(async () => {
  await browser?.close({ removeProfile: true });
  await server?.close();
}, 150_000);

it('a take recorded while the server was down for ~5 s arrives whole', async () => {
  const page = await browser.context.newPage();
  onTestFailed(async () => {
    printProblems(browser);
    await screenshot(page, 'failed-server-restart').catch(() => undefined);
  });
  await signUpInUi(page, server.url, 'Restarter');
  await prepareRecorder(page, server.url, 'camera');
  const started = await startTake(page);

  await page.waitForTimeout(2500);
  await server.stop();
  const downAt = Date.now();
  // The UI tells the truth about where the take is while the server cannot be reached.
  // Either it says so in words, or the bytes safe in the browser run ahead of those on the server.
  await expect
    .poll(async () => describesServerDown((await page.getByTestId('take-status').textContent()) ?? ''), {
      timeout: 20_000,
      interval: 250,
    })
    .toBe(true);
  await screenshot(page, 'recorder-server-down');
  const wait = 5000 - (Date.now() - downAt);
  if (wait > 0) await page.waitForTimeout(wait);
  await server.start();

  await page.waitForTimeout(3000);
  await page.getByRole('button', { name: 'Stop' }).click();
  const recorded = (Date.now() - started) / 1000;
  await page.getByLabel('Title').waitFor({ timeout: 30_000 });
  const kept = await keepTake(page, 'Through a server restart');
  expect(kept.kind).toBe('server');

  const rec = await processed(page, server.url, kept.id);
  expect(Math.abs(measuredSeconds(rec) - recorded)).toBeLessThan(1.5);
  expect(rec.metadata.upload_sha256).toMatch(/^[0-9a-f]{64}$/);
  await page.goto(`${server.url}/recordings/${kept.id}`);
  const played = await playAndSeek(page);
  expect(played.duration).toBeGreaterThan(recorded - 1.5);
}, 150_000);
