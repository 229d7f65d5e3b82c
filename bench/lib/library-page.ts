/**
 * What bench:library runs inside Chromium, as JavaScript source strings. Strings, not functions: tsx
 * (esbuild) wraps named functions in a `__name()` helper that does not exist in the page, and the
 * server-side tsconfig has no DOM types. Playwright evaluates a string as an expression (a function
 * source would come back uncalled), so `call()` makes the call expression, arguments as JSON.
 *
 * Every time is performance.now() in the page, i.e. milliseconds since that document's navigation
 * started. "Painted" = the first task after the animation frame that followed the DOM change: the
 * frame's style, layout and paint ran in between.
 */

/** `(source)(arg)`: an expression for page.evaluate / waitForFunction. */
export function call(source: string, arg?: unknown): string {
  return `(${source})(${arg === undefined ? '' : JSON.stringify(arg)})`;
}

export const CARD = '[data-testid="recording-card"]';

/** The timings one library load leaves in window.__libBench (null until reached). */
export interface LoadTimings {
  /** First recording card in the DOM, and painted. */
  firstCardDom: number | null;
  firstCard: number | null;
  /** The first page (pageSize cards) painted. */
  firstPage: number | null;
  /** Every thumbnail <img> in the viewport loaded (or failed) after the first page was painted. */
  thumbs: number | null;
  thumbsInView: number;
  thumbsBroken: number;
  fcp: number | null;
  lcp: number | null;
  /** navigation -> HTML received, -> DOMContentLoaded done; the non-image requests, start and end. */
  html: number | null;
  domContentLoaded: number | null;
  requests: { path: string; start: number; end: number }[];
  /** Long animation frames (> 50 ms): when, how long, how much was rendering (style, layout, paint), which scripts. */
  frames: {
    start: number;
    duration: number;
    blocking: number;
    render: number;
    styleLayout: number;
    scripts: { what: string; ms: number; forcedLayout: number }[];
  }[];
  /** Long tasks (> 50 ms) since navigation: count, total and longest. */
  longTasks: { n: number; totalMs: number; maxMs: number };
}

/** Installed with addInitScript: runs in every document before the app's own scripts. */
export function initScript(pageSize: number): string {
  return `(() => {
    const b = { firstCardDom: null, firstCard: null, firstPage: null, thumbs: null, thumbsInView: 0, thumbsBroken: 0,
      fcp: null, lcp: null, longTasks: { n: 0, totalMs: 0, maxMs: 0 } };
    window.__libBench = b;
    const painted = (set) => requestAnimationFrame(() => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => set(performance.now());
      ch.port2.postMessage(0);
    });
    const checkThumbs = () => {
      if (!(b.firstPage > 0) || b.thumbs !== null) return;
      const inView = [...document.querySelectorAll('${CARD} img')].filter((img) => {
        const r = img.getBoundingClientRect();
        return r.bottom > 0 && r.top < innerHeight;
      });
      if (inView.every((img) => img.complete)) {
        b.thumbsInView = inView.length;
        b.thumbsBroken = inView.filter((img) => img.naturalWidth === 0).length;
        painted((t) => { b.thumbs = t; });
      }
    };
    const check = () => {
      const n = document.querySelectorAll('${CARD}').length;
      if (n > 0 && b.firstCardDom === null) {
        b.firstCardDom = performance.now();
        painted((t) => { b.firstCard = t; });
      }
      if (n >= ${pageSize} && b.firstPage === null) {
        b.firstPage = -1;
        painted((t) => { b.firstPage = t; checkThumbs(); });
      }
    };
    new MutationObserver(check).observe(document, { childList: true, subtree: true });
    // load/error do not bubble, and an element's load never reaches window: capture on the document.
    document.addEventListener('load', (e) => e.target instanceof HTMLImageElement && checkThumbs(), true);
    document.addEventListener('error', (e) => e.target instanceof HTMLImageElement && checkThumbs(), true);
    const observe = (type, fn) => {
      try {
        new PerformanceObserver((l) => l.getEntries().forEach(fn)).observe({ type, buffered: true });
      } catch {}
    };
    observe('paint', (e) => { if (e.name === 'first-contentful-paint') b.fcp = e.startTime; });
    observe('largest-contentful-paint', (e) => { b.lcp = e.startTime; });
    // Long animation frames say where a slow frame went: scripts (and which), then style/layout/paint.
    b.frames = [];
    const end = (e) => e.startTime + e.duration;
    observe('long-animation-frame', (e) => b.frames.push({
      start: e.startTime,
      duration: e.duration,
      blocking: e.blockingDuration,
      render: e.renderStart ? end(e) - e.renderStart : 0,
      styleLayout: e.styleAndLayoutStart ? end(e) - e.styleAndLayoutStart : 0,
      scripts: e.scripts.map((s) => ({
        what: (s.sourceFunctionName || s.invoker) + ' ' + s.sourceURL.split('/').pop() + ':' + s.sourceCharPosition,
        ms: s.duration,
        forcedLayout: s.forcedStyleAndLayoutDuration,
      })),
    }));
    b.longTaskList = [];
    observe('longtask', (e) => {
      b.longTaskList.push([e.startTime, e.duration]);
      b.longTasks.n++;
      b.longTasks.totalMs += e.duration;
      b.longTasks.maxMs = Math.max(b.longTasks.maxMs, e.duration);
    });
  })();`;
}

/**
 * Waits until the first page and the thumbnails in view are painted, then returns the timings. A poll
 * inside one evaluate, not page.waitForFunction: that evals its predicate later, which the app's CSP
 * (no 'unsafe-eval') refuses. The poll only reads; the observers above take the timestamps.
 */
export const WAIT_LOADED = `async (timeoutMs) => {
  const b = () => window.__libBench;
  while (!(b() && b().firstPage > 0 && b().thumbs !== null)) {
    if (performance.now() > timeoutMs) {
      const images = [...document.images].slice(0, 12)
        .map((i) => [i.getAttribute('src'), i.complete, i.naturalWidth, Math.round(i.getBoundingClientRect().top)]);
      throw new Error(
        'library not loaded after ' + timeoutMs + ' ms: ' + JSON.stringify(b()) + ' images: ' + JSON.stringify(images),
      );
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const nav = performance.getEntriesByType('navigation')[0];
  // The waterfall (images left out): where the time before the first card went.
  const requests = performance.getEntriesByType('resource').filter((e) => e.initiatorType !== 'img')
    .map((e) => ({ path: new URL(e.name).pathname + new URL(e.name).search, start: e.startTime, end: e.responseEnd }));
  return {
    ...JSON.parse(JSON.stringify(b())),
    requests,
    html: nav ? nav.responseEnd : null,
    domContentLoaded: nav ? nav.domContentLoadedEventEnd : null,
  };
}`;

/**
 * Scrolls to the bottom until `target` cards are in the grid (the app's infinite scroll loads each next
 * page), then waits for the paint. Returns the time taken and what the page holds afterwards.
 */
export const SCROLL_TO = `async ({ target, timeoutMs }) => {
  const count = () => document.querySelectorAll('${CARD}').length;
  const t0 = performance.now();
  while (count() < target) {
    const before = count();
    window.scrollTo(0, document.documentElement.scrollHeight);
    await new Promise((resolve, reject) => {
      const mo = new MutationObserver(() => {
        if (count() <= before) return;
        mo.disconnect();
        clearTimeout(timer);
        resolve();
      });
      mo.observe(document.body, { childList: true, subtree: true });
      const timer = setTimeout(() => {
        mo.disconnect();
        reject(new Error('no new cards ' + timeoutMs + ' ms after scrolling to the bottom at ' + before + ' cards'));
      }, timeoutMs);
    });
  }
  await new Promise((r) => requestAnimationFrame(() => {
    const ch = new MessageChannel();
    ch.port1.onmessage = r;
    ch.port2.postMessage(0);
  }));
  const ms = performance.now() - t0;
  const lt = window.__libBench.longTaskList.filter(([start]) => start >= t0).map(([, d]) => d);
  return { ms, cards: count(), elements: document.getElementsByTagName('*').length, images: document.images.length,
    longTasks: { n: lt.length, totalMs: lt.reduce((a, d) => a + d, 0), maxMs: Math.max(0, ...lt) } };
}`;

/** The same API request the library makes for its first page, timed from inside the page (body read). */
export const TIME_API = `async (path) => {
  const t0 = performance.now();
  const res = await fetch(path, { credentials: 'same-origin' });
  const body = await res.json();
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(path + ': ' + res.status + ' ' + JSON.stringify(body));
  return { ms, items: body.items.length };
}`;

/** navigationStart -> loadEventEnd of the current document, once the load event has finished. */
export const NAV_LOAD_MS = `async () => {
  for (;;) {
    const nav = performance.getEntriesByType('navigation')[0];
    if (nav && nav.loadEventEnd > 0) return nav.loadEventEnd;
    await new Promise((r) => setTimeout(r, 5));
  }
}`;

/** A small real JPEG (320x180, what the server's thumbnails are), drawn on a canvas; base64. */
export const MAKE_JPEG = `async () => {
  const c = new OffscreenCanvas(320, 180);
  const g = c.getContext('2d');
  const grad = g.createLinearGradient(0, 0, 320, 180);
  grad.addColorStop(0, '#1e3a8a'); grad.addColorStop(1, '#0ea5e9');
  g.fillStyle = grad; g.fillRect(0, 0, 320, 180);
  g.fillStyle = 'rgba(255,255,255,0.85)'; g.fillRect(24, 24, 180, 14); g.fillRect(24, 48, 120, 10);
  g.beginPath(); g.moveTo(145, 70); g.lineTo(145, 130); g.lineTo(195, 100); g.closePath(); g.fill();
  const blob = await c.convertToBlob({ type: 'image/jpeg', quality: 0.8 });
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let s = '';
  for (const x of bytes) s += String.fromCharCode(x);
  return btoa(s);
}`;
