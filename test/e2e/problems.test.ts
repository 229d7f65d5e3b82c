/**
 * When recording cannot start or is cut short, in a real Chromium: the camera permission refused (no
 * fake permission UI, nothing granted) is explained in errors.ts's words with a way to try again, and
 * kept on the server as an `interrupted` session carrying that reason; a screen share stopped mid-take
 * (as the browser's "Stop sharing" does) ends the take with an explanation, and what was recorded is
 * still reviewed, kept and playable, with the reason on the session's take and the recording.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { Page } from 'playwright-core';
import { describeMediaError, screenShareStopped } from '../../src/web/recorder/errors.js';
import { launchBrowser, printProblems, screenshot, type LaunchedBrowser } from '../support/browser.js';
import { connect } from '../support/db.js';
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
  waitStartEnabled,
  type E2eServer,
} from '../support/e2e.js';

let server: E2eServer;
let db: pg.Client;
const browsers: LaunchedBrowser[] = [];

beforeAll(async () => {
  requireWebBuild();
  server = await startE2eServer();
  db = await connect(server.dbUrl);
});

afterAll(async () => {
  for (const b of browsers) await b.close({ removeProfile: true });
  await db?.end();
  await server?.close();
});

async function open(label: string, mediaPermission: 'granted' | 'denied'): Promise<{ b: LaunchedBrowser; page: Page }> {
  const b = await launchBrowser(undefined, { mediaPermission });
  browsers.push(b);
  const page = await b.context.newPage();
  onTestFailed(async () => {
    printProblems(b, label);
    await screenshot(page, `failed-problems-${label}`).catch(() => undefined);
  });
  return { b, page };
}

async function sessionsOf(email: string) {
  const { rows } = await db.query<{
    id: string;
    status: string;
    error_message: string | null;
    recording_type: string;
    recording_id: string | null;
    take: Record<string, unknown> | null;
  }>(
    `SELECT s.id::text, s.status, s.error_message, s.recording_type, s.recording_id::text, s.take
       FROM recording_sessions s JOIN users u ON u.id = s.user_id WHERE u.email = $1 ORDER BY s.id`,
    [email],
  );
  return rows;
}

describe('problems a person can run into', () => {
  it('camera permission refused: explained plainly, a way to try again, ' +
    'and an interrupted session with the reason', async () => {
    const { b, page } = await open('denied', 'denied');
    const user = await signUpInUi(page, server.url, 'Refuser');
    await page.goto(`${server.url}/record`);
    await page.locator('[data-mode="camera"]').click();
    const denied = describeMediaError(
      { name: 'NotAllowedError', message: 'Permission denied' },
      'camera and microphone',
    );
    expect(denied.code).toBe('permission-denied');
    const alert = page.getByRole('alert').filter({ hasText: denied.message });
    await alert.waitFor({ timeout: 15_000 });
    const retry = alert.getByRole('button', { name: 'Try again' });
    await retry.waitFor();
    await screenshot(page, 'problem-permission-denied');

    // The server knows why this person could not record.
    let rows: Awaited<ReturnType<typeof sessionsOf>> = [];
    const count = async () => {
      rows = await sessionsOf(user.email);
      return rows.length;
    };
    await expect.poll(count, { timeout: 15_000 }).toBeGreaterThan(0);
    expect(
      rows.every((r) => r.status === 'interrupted' && r.recording_type === 'camera' && r.recording_id === null),
    ).toBe(true);
    expect(rows[0]!.error_message).toBe(`permission-denied: ${denied.message}`);

    // Allowing the camera (as in the site settings) and trying again gets the preview going.
    await b.context.grantPermissions(['camera', 'microphone'], { origin: server.url });
    await retry.click();
    await waitStartEnabled(page, 15_000);
    await expect.poll(() => page.getByText(denied.message).count()).toBe(0);
    await expect
      .poll(() =>
        page
          .locator('.stage video')
          .evaluate(
            (v: HTMLVideoElement) => (v.srcObject as MediaStream | null)?.getVideoTracks()[0]?.readyState ?? 'none',
          ),
      )
      .toBe('live');
    await page.close();
  }, 60_000);

  it('screen share stopped mid-take: says so, and the take so far is reviewed, kept and plays', async () => {
    const { page } = await open('share-stopped', 'granted');
    const user = await signUpInUi(page, server.url, 'Sharer');
    await prepareRecorder(page, server.url, 'screen');
    const started = await startTake(page);
    await page.waitForTimeout(2500);
    // What the browser's own "Stop sharing" does: the screen track ends (stop() alone fires no 'ended').
    const stopped = await page.locator('.stage video').evaluate((v: HTMLVideoElement) => {
      const tracks = (v.srcObject as MediaStream | null)?.getVideoTracks() ?? [];
      for (const t of tracks) {
        t.stop();
        t.dispatchEvent(new Event('ended'));
      }
      return tracks.map((t) => t.label);
    });
    const recorded = (Date.now() - started) / 1000;
    expect(stopped.length).toBe(1);

    // The review opens by itself, with the reason in words.
    await page.getByLabel('Title').waitFor({ timeout: 30_000 });
    const explained = screenShareStopped().message;
    await page.getByText(explained).waitFor();
    await screenshot(page, 'problem-screen-share-stopped');
    const preview = page.getByLabel('Your recording', { exact: true });
    await expect
      .poll(() => preview.evaluate((v: HTMLVideoElement) => (Number.isFinite(v.duration) ? v.duration : 0)), {
        timeout: 15_000,
      })
      .toBeGreaterThan(recorded - 1);

    const kept = await keepTake(page, 'Cut short');
    expect(kept.kind).toBe('server');
    const rec = await processed(page, server.url, kept.id);
    expect(Math.abs(measuredSeconds(rec) - recorded)).toBeLessThan(1);
    await playAndSeek(page);
    // Why it ended stays with the take: on the session row and on the recording.
    const session = (await sessionsOf(user.email)).find((s) => s.recording_id === kept.id);
    expect(session?.status).toBe('completed');
    expect(JSON.stringify(session?.take)).toContain('screen-share-stopped');
    expect(JSON.stringify(rec.metadata)).toContain('screen-share-stopped');
    await page.close();
  }, 60_000);
});
