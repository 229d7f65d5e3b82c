/**
 * The browser harness itself, independent of the app: Chromium starts with fake media devices and a
 * synthetic screen, its browser pid is the one to kill, IndexedDB survives SIGKILL and a relaunch of
 * the profile, screenshots land in test-results/e2e/, and the page served by the web plugin runs
 * under its CSP and Permissions-Policy (inline script blocked, blob: worker, camera, screen allowed).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { webPlugin } from '../../src/server/web/web.plugin.js';
import {
  SCREENSHOT_DIR,
  browserPid,
  crashBrowser,
  launchBrowser,
  printProblems,
  relaunch,
  screenshot,
  type LaunchedBrowser,
} from '../support/browser.js';

let app: FastifyInstance;
let base: string;
let site: string;
const opened: LaunchedBrowser[] = [];

beforeAll(async () => {
  site = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-harness-site-'));
  fs.mkdirSync(path.join(site, 'assets'));
  fs.writeFileSync(
    path.join(site, 'index.html'),
    `<!doctype html><html><head><meta charset="utf-8"><title>harness</title></head><body>
<h1 id="h">harness</h1>
<script>window.inlineRan = true;</script>
<script type="module" src="/assets/probe-abc123.js"></script></body></html>`,
  );
  fs.writeFileSync(
    path.join(site, 'assets/probe-abc123.js'),
    `window.moduleRan = true;\ndocument.getElementById('h').textContent = 'loaded ' + location.pathname;\n`,
  );
  app = Fastify();
  await app.register(webPlugin, { root: site });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  try {
    for (const b of opened) await b.close({ removeProfile: true });
    await app?.close();
  } finally {
    fs.rmSync(site, { recursive: true, force: true });
  }
});

async function open(profileDir?: string): Promise<LaunchedBrowser> {
  const b = profileDir ? await relaunch(profileDir) : await launchBrowser();
  opened.push(b);
  onTestFailed(() => printProblems(b, 'harness'));
  return b;
}

describe('browser harness', () => {
  it('serves any app route as the app, under a CSP that blocks inline script', async () => {
    const b = await open();
    const page = await b.context.newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    await page.goto(`${base}/recordings/42`);
    await expect.poll(() => page.locator('#h').textContent()).toBe('loaded /recordings/42');
    expect(await page.evaluate(() => (window as unknown as { moduleRan?: boolean }).moduleRan)).toBe(true);
    expect(await page.evaluate(() => (window as unknown as { inlineRan?: boolean }).inlineRan)).toBeUndefined();
    expect(violations.join('\n')).toMatch(/script-src/);
    // What the recorder needs is allowed: a blob: worker, blob: media, the camera, the synthetic screen.
    const probe = await page.evaluate(async () => {
      const w = new Worker(URL.createObjectURL(new Blob(['postMessage(6 * 7)'], { type: 'text/javascript' })));
      const fromWorker = await new Promise<number>((r) => (w.onmessage = (e) => r(e.data as number)));
      const cam = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
      const screen = await navigator.mediaDevices.getDisplayMedia({ video: true });
      const rec = new MediaRecorder(cam, { mimeType: 'video/webm;codecs=vp9,opus' });
      const chunks: Blob[] = [];
      rec.ondataavailable = (e) => chunks.push(e.data);
      rec.start(200);
      await new Promise((r) => setTimeout(r, 1200));
      await new Promise((r) => {
        rec.onstop = r;
        rec.stop();
      });
      const video = document.createElement('video');
      video.src = URL.createObjectURL(new Blob(chunks, { type: 'video/webm' }));
      const played = await new Promise<boolean>((r) => {
        video.onloadedmetadata = () => r(true);
        video.onerror = () => r(false);
      });
      const result = {
        fromWorker,
        camTracks: cam
          .getTracks()
          .map((t) => t.kind)
          .sort(),
        screenLabel: screen.getVideoTracks()[0]?.label ?? '',
        bytes: chunks.reduce((n, c) => n + c.size, 0),
        played,
      };
      for (const t of [...cam.getTracks(), ...screen.getTracks()]) t.stop();
      return result;
    });
    expect(probe.fromWorker).toBe(42);
    expect(probe.camTracks).toEqual(['audio', 'video']);
    expect(probe.screenLabel).not.toBe('');
    expect(probe.bytes).toBeGreaterThan(1000);
    expect(probe.played).toBe(true);

    const file = await screenshot(page, 'harness-page');
    expect(file).toBe(path.join(SCREENSHOT_DIR, 'harness-page.png'));
    expect(fs.readFileSync(file).subarray(1, 4).toString()).toBe('PNG');
  });

  it('finds the browser pid, and IndexedDB survives SIGKILL and a relaunch of the profile', async () => {
    const b = await open();
    expect(browserPid(b.profileDir)).toBe(b.pid);
    expect(fs.readFileSync(`/proc/${b.pid}/cmdline`, 'utf8')).toContain('chromium');
    const page = await b.context.newPage();
    await page.goto(`${base}/`);
    await page.evaluate(async () => {
      const db = await new Promise<IDBDatabase>((res, rej) => {
        const r = indexedDB.open('harness', 1);
        r.onupgradeneeded = () => r.result.createObjectStore('kv');
        r.onsuccess = () => res(r.result);
        r.onerror = () => rej(r.error);
      });
      await new Promise((res, rej) => {
        const tx = db.transaction('kv', 'readwrite');
        tx.objectStore('kv').put(new Blob([new Uint8Array(300_000).fill(7)]), 'chunk-1');
        tx.oncomplete = res;
        tx.onerror = () => rej(tx.error);
      });
    });
    await crashBrowser(b);
    expect(browserPid(b.profileDir)).toBeUndefined();

    const b2 = await open(b.profileDir);
    expect(b2.pid).not.toBe(b.pid);
    const page2 = b2.context.pages()[0] ?? (await b2.context.newPage());
    await page2.goto(`${base}/`);
    const size = await page2.evaluate(async () => {
      const db = await new Promise<IDBDatabase>((res, rej) => {
        const r = indexedDB.open('harness', 1);
        r.onsuccess = () => res(r.result);
        r.onerror = () => rej(r.error);
      });
      const blob = await new Promise<Blob | undefined>((res) => {
        const g = db.transaction('kv').objectStore('kv').get('chunk-1');
        g.onsuccess = () => res(g.result as Blob | undefined);
      });
      return blob?.size ?? -1;
    });
    expect(size).toBe(300_000);
  });
});
