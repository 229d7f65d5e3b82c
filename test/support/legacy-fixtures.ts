/**
 * What the legacy-import browser tests share: media made by ffmpeg (not by the code under test), the
 * old recorder's data seeded into a page before the app runs, and the banner's steps.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { signInInUi } from './e2e.js';

export interface LegacyMedia {
  dir: string;
  /** VP9 + Opus WebM, 3 s. */
  camera: string;
  /** Opus WebM, 3 s. */
  audio: string;
  /** H.264 + AAC MP4, 3 s. */
  mp4: string;
  /** Lossless noise, 3 s, > 8 MiB: more than one tus chunk of the web app's uploader. */
  big: string;
  png: string;
}

function ffmpeg(...args: string[]): void {
  const r = spawnSync('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...args]);
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')}: ${r.stderr?.toString()}`);
}

export function makeLegacyMedia(): LegacyMedia {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-legacy-e2e-'));
  const f = (name: string) => path.join(dir, name);
  const video = ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=15:duration=3'];
  const tone = ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=3'];
  const vp9 = ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '150k'];
  const h264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];
  ffmpeg(...video, ...tone, ...vp9, '-c:a', 'libopus', '-b:a', '32k', f('camera.webm'));
  ffmpeg(...tone, '-c:a', 'libopus', '-b:a', '32k', f('audio.webm'));
  ffmpeg(...video, ...tone, ...h264, '-c:a', 'aac', f('screen.mp4'));
  const noise = ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30:duration=3,noise=alls=40:allf=t'];
  ffmpeg(...noise, ...tone, ...h264, '-qp', '0', '-c:a', 'aac', '-shortest', f('big.mp4'));
  if (fs.statSync(f('big.mp4')).size < 9 * 1024 * 1024) throw new Error('the big fixture is smaller than two chunks');
  ffmpeg('-f', 'lavfi', '-i', 'color=c=blue:s=32x18', '-frames:v', '1', f('thumb.png'));
  return {
    dir,
    camera: f('camera.webm'),
    audio: f('audio.webm'),
    mp4: f('screen.mp4'),
    big: f('big.mp4'),
    png: f('thumb.png'),
  };
}

export const sha = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
export const dataUrl = (file: string, mime: string) =>
  `data:${mime};base64,${fs.readFileSync(file).toString('base64')}`;

export interface IdbSeed {
  database: string;
  store: string;
  key: string;
  /** Served to the page by a route (no huge strings through the init script). */
  file: string;
  mime: string;
}

/**
 * Seeds localStorage['savedRecordings'] (and the old recorder's IndexedDB) before any script of the app
 * runs, once per profile (a marker key): later loads see what the import left. window.__seeded settles
 * when the IndexedDB writes are committed.
 */
export async function seedOnLoad(
  page: Page,
  baseUrl: string,
  saved: string,
  idb: IdbSeed[] = [],
  marker = 'test-seeded',
): Promise<void> {
  for (const [i, it] of idb.entries()) {
    await page.route(`**/__fixtures/${i}`, (r) => r.fulfill({ path: it.file, contentType: it.mime }));
  }
  const blobs = idb.map((it, i) => ({ database: it.database, store: it.store, key: it.key, url: `/__fixtures/${i}` }));
  await page.addInitScript(
    (s) => {
      const w = window as unknown as { __seeded?: Promise<void> };
      if (localStorage.getItem(s.marker)) {
        w.__seeded = Promise.resolve();
        return;
      }
      for (const k of Object.keys(localStorage)) if (k.startsWith('recorder.legacyImport')) localStorage.removeItem(k);
      localStorage.setItem('savedRecordings', s.saved);
      w.__seeded = (async () => {
        for (const b of s.blobs) {
          const blob = await fetch(b.url).then((r) => r.blob());
          const db = await new Promise<IDBDatabase>((resolve, reject) => {
            const r = indexedDB.open(b.database, 1);
            r.onupgradeneeded = () => r.result.createObjectStore(b.store);
            r.onsuccess = () => resolve(r.result);
            r.onerror = () => reject(r.error);
          });
          await new Promise((resolve, reject) => {
            const tx = db.transaction(b.store, 'readwrite');
            tx.objectStore(b.store).put(blob, b.key);
            tx.oncomplete = resolve;
            tx.onerror = () => reject(tx.error);
          });
          db.close();
        }
        localStorage.setItem(s.marker, '1');
      })();
    },
    { saved, blobs, marker },
  );
  await page.goto(`${baseUrl}/signin`);
  await page.evaluate(() => (window as unknown as { __seeded: Promise<void> }).__seeded);
}

/** Clicks Import in the banner and waits for its summary; returns its counts. */
export async function importAll(page: Page): Promise<{ imported: number; already: number; failed: number }> {
  const banner = page.getByTestId('legacy-import');
  await banner.getByRole('button', { name: 'Import', exact: true }).click();
  const summary = page.getByTestId('legacy-import-summary');
  await summary.waitFor({ timeout: 120_000 });
  const n = async (a: string) => Number(await summary.getAttribute(a));
  return { imported: await n('data-imported'), already: await n('data-already'), failed: await n('data-failed') };
}

export const savedNow = (page: Page) => page.evaluate(() => localStorage.getItem('savedRecordings'));

export const idbHas = (page: Page, database: string, store: string, key: string) =>
  page.evaluate(
    ({ database, store, key }) =>
      new Promise<boolean>((resolve, reject) => {
        const r = indexedDB.open(database);
        r.onerror = () => reject(r.error);
        r.onsuccess = () => {
          const g = r.result.transaction(store, 'readonly').objectStore(store).get(key);
          g.onsuccess = () => {
            resolve(g.result !== undefined);
            r.result.close();
          };
        };
      }),
    { database, store, key },
  );

/**
 * Opens the library; signs in when the session did not survive (a closed browser, a restarted server):
 * waits for whichever the app shows, the signed-in frame or the sign-in form.
 */
export async function openSignedIn(page: Page, baseUrl: string, user: { email: string }): Promise<void> {
  await page.goto(`${baseUrl}/`);
  const signOut = page.getByRole('button', { name: 'Sign out' });
  const email = page.getByLabel('Email');
  await Promise.race([signOut.waitFor({ timeout: 30_000 }), email.waitFor({ timeout: 30_000 })]);
  if (await signOut.isVisible()) return;
  await signInInUi(page, baseUrl, user);
  await page.goto(`${baseUrl}/`);
  await signOut.waitFor();
}
