/**
 * npm run bench:library — the web app's library page in Debian's Chromium (headless, playwright-core)
 * against the real server (its own process, the built app from dist/web) for a user with 10,000
 * recordings, beside baselines measured in the same run on the same server and browser:
 *
 *   - first card / first page: navigation start -> the first recording card painted, and the grid's
 *     first page (50 cards) painted, plus the thumbnails in view loaded (bench/lib/library-page.ts);
 *   - API only: GET /api/recordings?limit=50 (the app's own first request) fetched from inside a page,
 *     body read — what the library costs before any HTML, JS or rendering;
 *   - blank page: a static empty HTML file served by the same server's static handler, navigation start
 *     -> load event end — the floor for any page of this server;
 *   - scroll: 10 more pages by infinite scroll (scroll to the bottom, wait for the next cards), then the
 *     DOM size and the JS heap after a forced GC (CDP Performance.getMetrics);
 *   - scale: the same first-card time for a user with 100 recordings, interleaved with the 10,000 one,
 *     to show that the first paint does not grow with the library;
 *   - the library at scale (issue 9): the table holds BENCH_LIBRARY_SCALE_ROWS (1,000,000) recordings of
 *     10,000 other users, the big user is an editor in 50 of their busiest projects and a third user in
 *     the 50 quietest (few recordings, spread over two years: the old query's worst case); one client walks
 *     10 pages through the API and through the repository alone (p50/p95, goal p95 < 5 ms), and the first
 *     page's EXPLAIN ANALYZE before (old SQL, 0018's index dropped in a rolled-back transaction) and after
 *     (bench/lib/library-scale.ts).
 *
 * Data: COPY (bench/lib/data.ts) into a fresh database on an embedded PostgreSQL (bench/lib/server.ts).
 * 80% of the completed recordings get a thumbnail: one real 320x180 JPEG per user, stored through the
 * local storage provider at thumbnailKey(user, first recording) and named by the rows' metadata
 * thumbnail_key, so the grid loads real images through GET /api/recordings/:id/thumbnail.
 *
 * Every repetition opens a fresh tab; one cold round (first visit, empty HTTP cache) is recorded
 * separately and not counted. Env: BENCH_LIBRARY_ROWS (10000), BENCH_LIBRARY_SMALL (100),
 * BENCH_LIBRARY_REPS (10), BENCH_LIBRARY_SCALE_ROWS (1000000), BENCH_LIBRARY_SHARED (50),
 * BENCH_LIBRARY_BROWSER=0 (only the scale part), BENCH_DATABASE_URL. Results: stdout,
 * bench/results/library.json and library-scale.json; a screenshot in test-results/bench-library.png.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createLogger } from '../src/server/logger.js';
import { LocalStorage } from '../src/server/storage/local.js';
import { thumbnailKey } from '../src/server/storage/keys.js';
import { ensureWebBuild } from '../src/server/web/build.js';
import { CHROMIUM } from '../test/support/browser.js';
import { ROOT, signUpAccount, startChildServer } from './lib/child-server.js';
import { cleanupOnExit } from './lib/cleanup.js';
import { copyRows, recordingColumns, recordingRows, userId, type Dataset, type Row } from './lib/data.js';
import { measureLibrary, printScale, type ScaleReport, seedScale } from './lib/library-scale.js';
import { call, initScript, MAKE_JPEG, NAV_LOAD_MS, SCROLL_TO, WAIT_LOADED, TIME_API } from './lib/library-page.js';
import {
  type BlankSample,
  type LoadSample,
  printReport,
  profileLoad,
  type Samples,
  summarizeSamples,
} from './lib/library-report.js';
import { machine, runBench, writeResults } from './lib/report.js';
import { openTargetAndClient } from './lib/server.js';
import { envInt, fmtInt, fmtMs, msSince, note, now } from './lib/stats.js';

const ROWS = envInt('BENCH_LIBRARY_ROWS', 10_000);
const SMALL = envInt('BENCH_LIBRARY_SMALL', 100);
const REPS = envInt('BENCH_LIBRARY_REPS', 10);
const SCALE_ROWS = envInt('BENCH_LIBRARY_SCALE_ROWS', 1_000_000);
const SHARED = envInt('BENCH_LIBRARY_SHARED', 50);
const SCALE_GOAL_P95_MS = 5;
/** The app's page size (useLibrary's PAGE); checked against the app's first request. */
const PAGE = 50;
const SCROLL_PAGES = 10;
const SEED = 20240604;
const RESULTS = path.resolve(import.meta.dirname, 'results/library.json');
const SCALE_RESULTS = path.resolve(import.meta.dirname, 'results/library-scale.json');
/** BENCH_LIBRARY_BROWSER=0: only the library at scale (no Chromium rounds). */
const BROWSER = process.env.BENCH_LIBRARY_BROWSER !== '0';
const SCREENSHOT = path.join(ROOT, 'test-results/bench-library.png');
// Same flags as the browser tests (test/support/browser.ts) minus the fake media devices.
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

interface Account {
  name: string;
  userId: string;
  cookie: { name: string; value: string };
  context?: BrowserContext;
}

/** Signs up through the API like any user; the session cookie goes into the browser. */
async function signUp(url: string, name: string): Promise<Account> {
  const account = await signUpAccount(url, name);
  const [pair] = account.cookies;
  if (!pair) throw new Error('signup set no session cookie');
  const eq = pair.indexOf('=');
  return { name, userId: account.userId, cookie: { name: pair.slice(0, eq), value: pair.slice(eq + 1) } };
}

/** `count` generated recordings of one user: no project, nothing left processing (no job would finish them). */
function* rowsFor(ds: Dataset, uid: string, count: number, seed: number): Generator<Row> {
  const col = (c: string) => ds.columns.indexOf(c);
  const [iUser, iProject, iStatus, iThumb, iCdn, iKey, iUrl] = [
    'user_id',
    'project_id',
    'status',
    'thumbnail_url',
    'cdn_url',
    'storage_key',
    'storage_url',
  ].map(col);
  const generated = `/${userId(0)}/`;
  for (const r of recordingRows(ds, count, seed)) {
    r[iUser!] = uid;
    if (iProject! >= 0) r[iProject!] = null;
    if (r[iStatus!] === 'processing') r[iStatus!] = 'completed';
    r[iThumb!] = null;
    if (iCdn! >= 0) r[iCdn!] = null;
    // Storage keys are unique across the table; give each user's their own prefix.
    for (const i of [iKey!, iUrl!])
      if (i >= 0 && typeof r[i] === 'string') r[i] = (r[i] as string).replace(generated, `/${uid}/`);
    yield r;
  }
}

async function main(): Promise<void> {
  const started = now();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-bench-library-'));
  const { cleanups, cleanup } = cleanupOnExit(work);
  const logger = createLogger('warn');

  try {
    const build = await ensureWebBuild({ logger });
    note(build.built ? `web app built in ${(build.durationMs / 1000).toFixed(1)} s` : 'web app build is up to date');
    // The "blank page" baseline: an empty static file served by the same handler as the app's files.
    const blankName = `bench-blank-${process.pid}.html`;
    const blankFile = path.join(build.outDir, blankName);
    fs.writeFileSync(
      blankFile,
      '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>bench-blank</title></head>' +
        '<body></body></html>\n',
    );
    cleanups.push({ what: `delete ${blankFile}`, run: () => fs.promises.rm(blankFile, { force: true }) });

    const { target, client } = await openTargetAndClient(cleanups);
    const version = (await client.query<{ v: string }>('SELECT version() AS v')).rows[0]!.v;

    const dataDir = path.join(work, 'data');
    const server = await startChildServer({
      name: 'recorder',
      dir: work,
      env: { DATABASE_URL: target.url, DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    });
    cleanups.push({ what: 'stop recorder', run: () => server.stop() });
    const big = await signUp(server.url, 'big');
    const small = await signUp(server.url, 'small');
    const quiet = await signUp(server.url, 'quiet');

    const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
    cleanups.push({ what: 'close Chromium', run: () => browser.close() });
    const jpeg = await (async () => {
      const p = await browser.newPage();
      try {
        return Buffer.from(await p.evaluate<string>(call(MAKE_JPEG)), 'base64');
      } finally {
        await p.close();
      }
    })();

    // Seed: the other users' recordings and the shared projects, both users' own recordings by COPY,
    // then thumbnails for a share of the completed ones.
    const scaleData = await seedScale(client, big.userId, {
      rows: SCALE_ROWS,
      users: 10_000,
      own: 0,
      sharedProjects: SHARED,
      quietUser: quiet.userId,
      seed: SEED + 2,
    });
    const columns = await recordingColumns(client);
    const span = 730 * 86_400_000;
    const ds: Dataset = {
      seed: SEED,
      users: 1,
      rows: ROWS,
      start: Date.now() - span,
      spanMs: span,
      projectOf: [],
      columns,
    };
    const loadedBig = await copyRows(
      client,
      'recordings',
      columns,
      rowsFor(ds, big.userId, ROWS, SEED),
      ROWS,
      `COPY ${fmtInt(ROWS)} recordings`,
    );
    const loadedSmall = await copyRows(
      client,
      'recordings',
      columns,
      rowsFor({ ...ds, rows: SMALL }, small.userId, SMALL, SEED + 1),
      SMALL,
      `COPY ${fmtInt(SMALL)} recordings`,
    );
    const storage = new LocalStorage({ dir: path.join(dataDir, 'media') });
    const thumbs: Record<string, number> = {};
    for (const a of [big, small]) {
      const first = (
        await client.query<{ id: string }>('SELECT min(id)::text AS id FROM recordings WHERE user_id = $1', [a.userId])
      ).rows[0]!.id;
      const key = thumbnailKey(a.userId, first);
      await storage.put(key, Readable.from([jpeg]), { size: jpeg.length, contentType: 'image/jpeg' });
      // A deterministic 80% of the completed rows (id mod 5), as ffmpeg-less servers leave the rest without.
      const res = await client.query(
        `UPDATE recordings SET thumbnail_url = '/api/recordings/' || id || '/thumbnail',
                metadata = coalesce(metadata, '{}'::jsonb) || jsonb_build_object('thumbnail_key', $2::text)
          WHERE user_id = $1 AND status = 'completed' AND id % 5 <> 0`,
        [a.userId, key],
      );
      thumbs[a.name] = res.rowCount ?? 0;
    }
    await client.query('VACUUM (ANALYZE) recordings');
    note(
      `${fmtInt(loadedBig.rows)} + ${fmtInt(loadedSmall.rows)} recordings loaded; ` +
        `thumbnails: ${thumbs.big} + ${thumbs.small} rows, JPEG ${jpeg.length} bytes`,
    );

    // The library at scale first: the browser rounds depend on dist/web, which another process may rebuild.
    note('the library at scale: one client, API and repository; plans before/after');
    const cookie = (a: Account) => ({ cookie: `${a.cookie.name}=${a.cookie.value}` });
    const urls = { server: server.url, db: target.url };
    const scale: ScaleReport = {
      rows: scaleData.rows + loadedBig.rows + loadedSmall.rows,
      sharedProjects: scaleData.projects.length,
      libraries: [
        await measureLibrary('busy: 10,000 own, the 50 busiest projects', client, urls, {
          userId: big.userId,
          headers: cookie(big),
        }),
        await measureLibrary('quiet: nothing own, the 50 quietest projects', client, urls, {
          userId: quiet.userId,
          headers: cookie(quiet),
        }),
      ],
      goalP95Ms: SCALE_GOAL_P95_MS,
    };
    printScale(scale);
    writeResults(SCALE_RESULTS, {
      ...machine(),
      postgres: { version, server: target.server },
      ...scale,
      loadAverage: os.loadavg(),
    });
    if (!BROWSER) return;

    for (const a of [big, small]) {
      a.context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      await a.context.addCookies([{ ...a.cookie, url: server.url }]);
      await a.context.addInitScript({ content: initScript(PAGE) });
    }
    const problems: string[] = [];
    const watch = (p: Page) => {
      p.on('pageerror', (e) => problems.push(`[pageerror] ${e.message}`));
      p.on('console', (m) => m.type() === 'error' && problems.push(`[console.error] ${m.text()}`));
      p.on('response', (r) => r.status() >= 400 && problems.push(`[http ${r.status()}] ${r.url()}`));
      return p;
    };

    /** One library load in a fresh tab; `then` runs on the loaded page before it closes. */
    const libraryLoad = async (a: Account, then?: (p: Page, s: LoadSample) => Promise<void>): Promise<LoadSample> => {
      const p = watch(await a.context!.newPage());
      try {
        const requests: string[] = [];
        p.on('request', (r) => r.url().includes('/api/recordings?') && requests.push(r.url()));
        await p.goto(`${server.url}/`, { waitUntil: 'commit' });
        const s = (await p.evaluate(call(WAIT_LOADED, 60_000))) as LoadSample;
        const limit = new URL(requests[0]!).searchParams.get('limit');
        if (limit !== String(PAGE))
          throw new Error(`the app asked for ${limit} recordings per page; PAGE in this bench is ${PAGE}`);
        if (then) await then(p, s);
        return s;
      } finally {
        await p.close();
      }
    };
    const scrollAndMeasure = async (p: Page, s: LoadSample) => {
      s.scroll = (await p.evaluate(
        call(SCROLL_TO, { target: PAGE * (1 + SCROLL_PAGES), timeoutMs: 30_000 }),
      )) as LoadSample['scroll'];
      const cdp = await p.context().newCDPSession(p);
      await cdp.send('Performance.enable');
      await cdp.send('HeapProfiler.collectGarbage');
      const { metrics } = await cdp.send('Performance.getMetrics');
      s.metrics = Object.fromEntries(metrics.map((m) => [m.name, m.value]));
      await cdp.detach();
    };
    const blankLoad = async (): Promise<BlankSample> => {
      const p = watch(await big.context!.newPage());
      try {
        await p.goto(`${server.url}/${blankName}`, { waitUntil: 'load' });
        if ((await p.title()) !== 'bench-blank')
          throw new Error(`/${blankName} did not serve the blank page (dist/web rebuilt meanwhile?)`);
        const loadMs = (await p.evaluate(call(NAV_LOAD_MS))) as number;
        const api = (await p.evaluate(call(TIME_API, `/api/recordings?limit=${PAGE}`))) as {
          ms: number;
          items: number;
        };
        if (api.items !== PAGE) throw new Error(`the API returned ${api.items} recordings, expected ${PAGE}`);
        return { loadMs, apiMs: api.ms };
      } finally {
        await p.close();
      }
    };

    // Cold round (empty caches), not counted; then REPS rounds, the scenarios interleaved so that
    // the machine's background load hits them alike.
    note('cold round (first visit)');
    const cold = { blank: await blankLoad(), big: await libraryLoad(big), small: await libraryLoad(small) };
    const samples: Samples = { blank: [], big: [], small: [] };
    for (let i = 0; i < REPS; i++) {
      samples.blank.push(await blankLoad());
      samples.big.push(await libraryLoad(big, scrollAndMeasure));
      samples.small.push(await libraryLoad(small));
      const [bigRun, smallRun] = [samples.big[i]!, samples.small[i]!];
      note(
        `round ${i + 1}/${REPS}: first card ${fmtMs(bigRun.firstCard!)} ms (${fmtInt(ROWS)}) / ` +
          `${fmtMs(smallRun.firstCard!)} ms (${fmtInt(SMALL)}), scroll ${fmtMs(bigRun.scroll!.ms)} ms`,
      );
    }
    if (process.env.BENCH_LIBRARY_PROFILE)
      note(`CPU profile of one load:\n${await profileLoad(big.context!, server.url)}`);
    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await libraryLoad(big, (p) => p.screenshot({ path: SCREENSHOT }).then(() => undefined));

    const r = summarizeSamples(samples);
    const last = samples.big[samples.big.length - 1]!;
    const m = last.metrics!;
    const runtimeMs = msSince(started);
    printReport({
      title: `Chromium headless 1280x800, ${version.split(',')[0]} (${target.server})`,
      config: {
        rows: ROWS,
        small: SMALL,
        reps: REPS,
        page: PAGE,
        scrollPages: SCROLL_PAGES,
        thumbnailRows: thumbs.big!,
      },
      r,
      samples,
      cold,
      problems,
    });
    console.log(
      `\nRuntime ${(runtimeMs / 1000).toFixed(1)} s. Results: ${path.relative(process.cwd(), RESULTS)}; ` +
        `screenshot: ${path.relative(process.cwd(), SCREENSHOT)}`,
    );

    const report = {
      ...machine(),
      chromium: browser.version(),
      postgres: { version, server: target.server },
      config: {
        rows: ROWS,
        small: SMALL,
        reps: REPS,
        pageSize: PAGE,
        scrollPages: SCROLL_PAGES,
        thumbnailRows: thumbs,
        jpegBytes: jpeg.length,
        viewport: '1280x800',
        seed: SEED,
      },
      summary: r,
      ratios: {
        firstCardVsApi: r.firstCard.p50 / r.api.p50,
        firstCardVsBlank: r.firstCard.p50 / r.blank.p50,
        bigVsSmallFirstCard: r.firstCard.p50 / r.smallFirstCard.p50,
      },
      afterScroll: { ...last.scroll, metrics: m },
      cold,
      samples,
      problems: [...new Set(problems)],
      runtimeMs,
    };
    writeResults(RESULTS, report);
  } finally {
    await cleanup();
  }
}

runBench(main);
