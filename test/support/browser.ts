/**
 * Debian's Chromium driven by playwright-core for the browser tests: a persistent profile (IndexedDB
 * must survive a crash and a relaunch), fake camera/microphone/screen, media permissions granted.
 * getDisplayMedia yields Chromium's synthetic "Entire screen" without a picker.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOT_DIR = path.resolve(import.meta.dirname, '../../test-results/e2e');

const ARGS = [
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--auto-select-desktop-capture-source=Entire screen',
  '--autoplay-policy=no-user-gesture-required',
  // A killed browser must not greet the relaunch with a "restore pages?" prompt.
  '--disable-session-crashed-bubble',
  '--hide-crash-restore-bubble',
];

export interface LaunchedBrowser {
  context: BrowserContext;
  profileDir: string;
  /** The browser process (not a renderer): kill -9 it to simulate a crash. */
  pid: number;
  /** Console errors, page errors and failed requests seen so far, one line each. */
  problems: string[];
  /** Closes the browser (a crashed one too); keeps the profile unless removeProfile. */
  close(opts?: { removeProfile?: boolean }): Promise<void>;
}

/** Every Chromium process (browser, renderers, helpers) using this profile. */
function profileProcesses(profileDir: string): { pid: number; argv: string[] }[] {
  const found: { pid: number; argv: string[] }[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // exited meanwhile
    }
    if (argv.includes(`--user-data-dir=${profileDir}`)) found.push({ pid: Number(entry), argv });
  }
  return found;
}

/** The pid of the Chromium browser process using this profile (renderers carry --type=...). */
export function browserPid(profileDir: string): number | undefined {
  return profileProcesses(profileDir).find((p) => !p.argv.some((a) => a.startsWith('--type=')))?.pid;
}

function watch(context: BrowserContext, problems: string[]): void {
  const attach = (page: Page) => {
    page.on('console', (m) => {
      if (m.type() !== 'error' && m.type() !== 'warning') return;
      const at = m.location()?.url;
      problems.push(`[console.${m.type()}] ${page.url()} ${m.text()}${at && at !== page.url() ? ` (${at})` : ''}`);
    });
    page.on('pageerror', (e) => problems.push(`[pageerror] ${page.url()} ${e.stack ?? e.message}`));
    page.on('requestfailed', (r) =>
      problems.push(`[requestfailed] ${r.method()} ${r.url()} ${r.failure()?.errorText ?? ''}`),
    );
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`[http ${r.status()}] ${r.request().method()} ${r.url()}`);
    });
  };
  context.pages().forEach(attach);
  context.on('page', attach);
}

/**
 * Opens Chromium on profileDir (a fresh temporary one by default). `mediaPermission: 'denied'` drops the
 * fake permission UI and grants nothing, so getUserMedia is refused as when a person clicks "Block".
 */
export async function launchBrowser(
  profileDir?: string,
  opts: { mediaPermission?: 'granted' | 'denied' } = {},
): Promise<LaunchedBrowser> {
  if (!fs.existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (npm test does this as root)`);
  const dir = profileDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-chromium-'));
  const denied = opts.mediaPermission === 'denied';
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: denied ? ARGS.filter((a) => a !== '--use-fake-ui-for-media-stream') : ARGS,
    permissions: denied ? [] : ['camera', 'microphone'],
    viewport: { width: 1280, height: 800 },
  });
  const pid = browserPid(dir);
  if (!pid) {
    await context.close();
    throw new Error(`launched Chromium but found no browser process for ${dir}`);
  }
  const problems: string[] = [];
  watch(context, problems);
  return {
    context,
    profileDir: dir,
    pid,
    problems,
    async close(opts = {}) {
      await context.close().catch(() => undefined);
      // A browser that was killed leaves its children to die on their own; make sure nothing of
      // this profile outlives the test.
      for (let i = 0; i < 50; i++) {
        const left = profileProcesses(dir);
        if (left.length === 0) break;
        for (const p of left) {
          try {
            process.kill(p.pid, 'SIGKILL');
          } catch {
            // gone already
          }
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      if (opts.removeProfile) fs.rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    },
  };
}

/** Reopens a profile after close or crash: what a person does when they start the browser again. */
export function relaunch(profileDir: string): Promise<LaunchedBrowser> {
  return launchBrowser(profileDir);
}

/** Kills the browser process with SIGKILL (no unload, no pagehide) and waits until it is gone. */
export async function crashBrowser(b: LaunchedBrowser): Promise<void> {
  process.kill(b.pid, 'SIGKILL');
  for (let i = 0; i < 100 && browserPid(b.profileDir) === b.pid; i++) await new Promise((r) => setTimeout(r, 50));
  await b.context.close().catch(() => undefined);
}

/**
 * Kills every process of the profile at once with SIGKILL, children first (a power cut, the OOM killer
 * taking the lot): unlike crashBrowser, Chromium's storage process gets no chance to write what it held
 * in memory, so the relaunched profile has only what had reached the disk before.
 */
export async function crashAllProcesses(b: LaunchedBrowser): Promise<void> {
  const all = profileProcesses(b.profileDir).sort((x, y) => Number(x.pid === b.pid) - Number(y.pid === b.pid));
  for (const p of all) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  await b.close();
}

/** Saves a full-page screenshot as test-results/e2e/<name>.png for a person to look at. */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name.replace(/[^\w.-]+/g, '-')}.png`);
  // A full-page shot of a scrolled page paints sticky headers mid-page; shoot from the top.
  await page.evaluate(() => window.scrollTo(0, 0));
  // Cards use content-visibility: auto (fast long libraries): off-screen ones would be shot blank.
  await page.screenshot({ path: file, fullPage: true, style: '* { content-visibility: visible !important; }' });
  return file;
}

/** Prints what the browser complained about (call from onTestFailed). */
export function printProblems(b: LaunchedBrowser | undefined, label = 'browser'): void {
  if (!b || b.problems.length === 0) return;
  process.stderr.write(`\n--- ${label}: ${b.problems.length} console/page problem(s)\n${b.problems.join('\n')}\n---\n`);
}
