/**
 * npm run bench:share (issue 13) — share links and comments, through the real server (a child process,
 * LOG_LEVEL=warn) on a fresh database:
 *  1. first frame: a 10 s 1280×720 VP9/Opus recording opened BENCH_SHARE_LOADS (10) times in a fresh Chromium
 *     context each through its share link (/s/:token, signed out: the link's API call, then the media) and as
 *     many times on the signed-in player page (/recordings/:id: the session call, the recording, the media),
 *     alternating which goes first. First frame = the player's first requestVideoFrameCallback (or its
 *     'loadeddata' where that never fires), in ms since the navigation started. Goal: share p50 ≤ 1.2× player.
 *  2. comments: 10,000 comments seeded on one recording (test/support/comments-seed.ts), then every page of
 *     100 read through GET /api/recordings/:id/comments?after=…&limit=100, BENCH_SHARE_PASSES (3) times; the
 *     empty poll (/changes?since=<latest>) and GET /api/recordings/:id (the floor of a signed-in request on
 *     this machine) in the same run. Goal: p95 < 20 ms for a page of 100.
 *
 * Env: BENCH_SHARE_LOADS, BENCH_SHARE_PASSES, BENCH_SHARE_COMMENTS (10000), BENCH_DATABASE_URL
 * (bench/lib/server.ts). Results: stdout and bench/results/share.json (with the load average it ran under).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { type Browser, chromium } from 'playwright-core';
import { CHROMIUM } from '../test/support/browser.js';
import { seedComments } from '../test/support/comments-seed.js';
import { type ChildServer, signUpAccount, startChildServer } from './lib/child-server.js';
import { cleanupOnExit } from './lib/cleanup.js';
import { jobRig, makeTake, storeTake } from './lib/edits-render.js';
import { machine, runBench, writeResults } from './lib/report.js';
import { openTargetAndClient } from './lib/server.js';
import { envInt, fmtMs, formatTable, msSince, note, now, type Summary, summarize } from './lib/stats.js';

const RESULTS = path.resolve(import.meta.dirname, 'results/share.json');
const LOADS = envInt('BENCH_SHARE_LOADS', 10);
const PASSES = envInt('BENCH_SHARE_PASSES', 3);
const COMMENTS = envInt('BENCH_SHARE_COMMENTS', 10_000);
const TAKE_SECONDS = 10;
const FRAME_GOAL_RATIO = 1.2;
const PAGE_GOAL_P95_MS = 20;
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'];

/**
 * Runs in every document before the app (a string: tsx would wrap a function in a __name() helper the page
 * lacks). Watches for the player element and notes its first presented frame, and 'loadeddata' as a fallback.
 */
const FIRST_FRAME_SCRIPT = `(() => {
  const b = (window.__shareBench = { frame: null, loaded: null });
  const hook = (v) => {
    if (v.__benchHooked) return;
    v.__benchHooked = true;
    if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(() => { b.frame ??= performance.now(); });
    v.addEventListener('loadeddata', () => { b.loaded ??= performance.now(); });
  };
  new MutationObserver(() => {
    const v = document.querySelector('video[data-testid="player"]');
    if (v) hook(v);
  }).observe(document, { childList: true, subtree: true });
})()`;
/**
 * Resolves with the frame time, or 'loadeddata''s once 2 s passed after it without a frame callback. A promise
 * evaluated as is: waitForFunction would compile a string in the page, which the app's CSP forbids.
 */
const FRAME_TIME = `new Promise((resolve, reject) => {
  const started = performance.now();
  const check = () => {
    const b = window.__shareBench;
    if (b.frame !== null || (b.loaded !== null && performance.now() - b.loaded > 2000))
      return resolve({ frame: b.frame, loaded: b.loaded });
    if (performance.now() - started > 60000) return reject(new Error('no first frame within 60 s'));
    setTimeout(check, 20);
  };
  check();
})`;

/** What the page shows when no frame came (for the error message). */
const PLAYER_STATE = `(() => {
  const v = document.querySelector('video');
  return { bench: window.__shareBench, text: document.body.innerText.slice(0, 300),
    video: v && { src: v.currentSrc, readyState: v.readyState, networkState: v.networkState, error: v.error?.code } };
})()`;

interface FrameResults {
  loads: number;
  share: Summary;
  player: Summary;
  /** How many loads had no requestVideoFrameCallback and counted 'loadeddata'. */
  loadeddataFallbacks: number;
  ratioP50: number;
  ratioP95: number;
  goalRatio: number;
  met: boolean;
}

async function firstFrame(browser: Browser, url: string, cookie: string | null): Promise<{ ms: number; fb: boolean }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    if (cookie) {
      const pairs = cookie.split('; ').map((pair) => pair.split('=') as [string, string]);
      await context.addCookies(pairs.map(([name, value]) => ({ name, value, url: new URL(url).origin })));
    }
    await context.addInitScript(FIRST_FRAME_SCRIPT);
    const page = await context.newPage();
    await page.goto(url);
    const t = await page.evaluate<{ frame: number | null; loaded: number }>(FRAME_TIME).catch(async (err) => {
      const seen = await page.evaluate(PLAYER_STATE).catch(() => 'unreadable');
      throw new Error(`${url}: ${err instanceof Error ? err.message : err}; the page: ${JSON.stringify(seen)}`);
    });
    return { ms: t.frame ?? t.loaded, fb: t.frame === null };
  } finally {
    await context.close();
  }
}

async function frameBench(server: ChildServer, cookie: string, recordingId: string): Promise<FrameResults> {
  const res = await fetch(`${server.url}/api/recordings/${recordingId}/shares`, {
    method: 'POST',
    headers: { cookie, origin: server.url, 'content-type': 'application/json' },
    body: JSON.stringify({ permissions: ['view', 'comment'], label: 'bench' }),
  });
  if (res.status !== 201) throw new Error(`share refused: ${res.status} ${await res.text()}`);
  const { url: shareUrl } = (await res.json()) as { url: string };
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  try {
    // One unmeasured load of each warms the server (its first media open, the web build's file cache).
    await firstFrame(browser, shareUrl, null);
    await firstFrame(browser, `${server.url}/recordings/${recordingId}`, cookie);
    const share: number[] = [];
    const player: number[] = [];
    let fallbacks = 0;
    for (let i = 0; i < LOADS; i++) {
      const viaShare = async () => share.push(count(await firstFrame(browser, shareUrl, null)));
      const viaPlayer = async () =>
        player.push(count(await firstFrame(browser, `${server.url}/recordings/${recordingId}`, cookie)));
      const count = (r: { ms: number; fb: boolean }) => {
        if (r.fb) fallbacks++;
        return r.ms;
      };
      if (i % 2 === 0) await viaShare().then(viaPlayer);
      else await viaPlayer().then(viaShare);
      note(`first frame ${i + 1}/${LOADS}: share ${fmtMs(share.at(-1)!)} ms, player ${fmtMs(player.at(-1)!)} ms`);
    }
    const s = summarize(share);
    const p = summarize(player);
    const ratio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000;
    return {
      loads: LOADS,
      share: s,
      player: p,
      loadeddataFallbacks: fallbacks,
      ratioP50: ratio(s.p50, p.p50),
      ratioP95: ratio(s.p95, p.p95),
      goalRatio: FRAME_GOAL_RATIO,
      met: s.p50 / p.p50 <= FRAME_GOAL_RATIO,
    };
  } finally {
    await browser.close();
  }
}

interface CommentResults {
  comments: number;
  passes: number;
  page: Summary;
  emptyPoll: Summary;
  recordingGet: Summary;
  pageBytes: number;
  goalP95Ms: number;
  met: boolean;
}

async function timedGet(url: string, cookie: string): Promise<{ ms: number; body: string }> {
  const t0 = now();
  const res = await fetch(url, { headers: { cookie } });
  const body = await res.text();
  const ms = msSince(t0);
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${body.slice(0, 300)}`);
  return { ms, body };
}

async function commentsBench(
  server: ChildServer,
  cookie: string,
  client: pg.Client,
  userId: string,
): Promise<CommentResults> {
  const t0 = now();
  const recordingId = await seedComments(client, { userId, count: COMMENTS });
  note(`comments: ${COMMENTS} seeded in ${fmtMs(msSince(t0))} ms`);
  const base = `${server.url}/api/recordings/${recordingId}/comments`;
  const page: number[] = [];
  let pageBytes = 0;
  let revision = '0';
  for (let pass = 0; pass < PASSES; pass++) {
    let after: string | null = null;
    let read = 0;
    do {
      const { ms, body } = await timedGet(`${base}?limit=100${after ? `&after=${after}` : ''}`, cookie);
      const answer = JSON.parse(body) as { comments: unknown[]; nextAfter: string | null; revision: string };
      page.push(ms);
      pageBytes = Math.max(pageBytes, body.length);
      read += answer.comments.length;
      if (after === null) revision = answer.revision;
      after = answer.nextAfter;
    } while (after);
    if (read !== COMMENTS) throw new Error(`pass ${pass + 1} read ${read} comments, not ${COMMENTS}`);
  }
  const emptyPoll: number[] = [];
  const recordingGet: number[] = [];
  for (let i = 0; i < 100; i++) {
    emptyPoll.push((await timedGet(`${base}/changes?since=${revision}`, cookie)).ms);
    recordingGet.push((await timedGet(`${server.url}/api/recordings/${recordingId}`, cookie)).ms);
  }
  const pages = summarize(page);
  return {
    comments: COMMENTS,
    passes: PASSES,
    page: pages,
    emptyPoll: summarize(emptyPoll),
    recordingGet: summarize(recordingGet),
    pageBytes,
    goalP95Ms: PAGE_GOAL_P95_MS,
    met: pages.p95 < PAGE_GOAL_P95_MS,
  };
}

function print(frames: FrameResults, comments: CommentResults): void {
  const row = (what: string, s: Summary) => [what, String(s.n), fmtMs(s.p50), fmtMs(s.p95), fmtMs(s.max)];
  console.log(
    formatTable(
      ['measure', 'n', 'p50', 'p95', 'max'],
      [
        row('share page -> first frame', frames.share),
        row('signed-in player -> first frame', frames.player),
        row(`comments page of 100 (of ${comments.comments})`, comments.page),
        row('empty poll /changes', comments.emptyPoll),
        row('GET /api/recordings/:id (floor)', comments.recordingGet),
      ],
    ),
  );
  console.log(
    `share page first frame ${frames.ratioP50}× the player's (p50; p95 ${frames.ratioP95}×): ` +
      `goal ≤ ${frames.goalRatio}× ${frames.met ? 'met' : 'NOT met'}`,
  );
  console.log(
    `page of 100 of ${comments.comments} comments p95 ${fmtMs(comments.page.p95)} ms: ` +
      `goal < ${comments.goalP95Ms} ms ${comments.met ? 'met' : 'NOT met'}`,
  );
}

async function main(): Promise<void> {
  const started = now();
  const loadBefore = os.loadavg();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-bench-share-'));
  const { cleanups, cleanup } = cleanupOnExit(work);
  try {
    const { target, client } = await openTargetAndClient(cleanups);
    const dataDir = path.join(work, 'data');
    const server = await startChildServer({
      name: 'recorder',
      dir: work,
      env: { DATABASE_URL: target.url, DATA_DIR: dataDir, LOG_LEVEL: 'warn', JOBS_ENABLED: 'false' },
    });
    cleanups.push({ what: 'stop recorder', run: () => server.stop() });
    const account = await signUpAccount(server.url, 'bench');
    const cookie = account.cookies.join('; ');
    const take = await makeTake(work, TAKE_SECONDS);
    const rig = jobRig(target.url, dataDir);
    const recordingId = await storeTake(client, rig.storage, account.userId, take).finally(() => rig.close());
    const megabytes = Math.round(take.bytes / 1e5) / 10;
    note(`a ${TAKE_SECONDS} s ${take.width}×${take.height} recording stored (${megabytes} MB)`);

    const frames = await frameBench(server, cookie, recordingId);
    const comments = await commentsBench(server, cookie, client, account.userId);
    print(frames, comments);
    const loadAverage = { before: loadBefore, after: os.loadavg() };
    console.log(
      `load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAverage.after
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    const seconds = msSince(started) / 1000;
    writeResults(RESULTS, { ...machine(), database: target.server, seconds, loadAverage, frames, comments });
    note(`results written to ${path.relative(process.cwd(), RESULTS)}`);
  } finally {
    await cleanup();
  }
}

runBench(main);
