/** bench:library's samples, their summary and the printed report; a CPU profile of one load on request. */
import os from 'node:os';
import type { BrowserContext } from 'playwright-core';
import { call, type LoadTimings, WAIT_LOADED } from './library-page.js';
import { fmtInt, fmtMb, fmtMs, formatTable, type Summary, summarize } from './stats.js';

export interface LoadSample extends LoadTimings {
  scroll?: { ms: number; cards: number; elements: number; images: number; longTasks: LoadTimings['longTasks'] };
  metrics?: Record<string, number>;
}

/** The blank static page (navigation -> load end) and the API-only request fetched from it. */
export interface BlankSample {
  loadMs: number;
  apiMs: number;
}

export interface Samples {
  blank: BlankSample[];
  big: LoadSample[];
  small: LoadSample[];
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
}

/** BENCH_LIBRARY_PROFILE=1: a V8 CPU profile of one library load, top self times (for finding what is slow). */
export async function profileLoad(context: BrowserContext, url: string): Promise<string> {
  const p = await context.newPage();
  try {
    const cdp = await context.newCDPSession(p);
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
    await cdp.send('Profiler.start');
    await p.goto(`${url}/`, { waitUntil: 'commit' });
    await p.evaluate(call(WAIT_LOADED, 60_000));
    const { profile } = (await cdp.send('Profiler.stop')) as unknown as {
      profile: { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[] };
    };
    const us = (profile.endTime - profile.startTime) / profile.samples.length;
    const self = new Map<string, number>();
    for (const n of profile.nodes) {
      const f = n.callFrame;
      const where = f.url ? `${f.url.split('/').pop()}:${f.lineNumber + 1}:${f.columnNumber + 1}` : '';
      const k = `${f.functionName || '(anonymous)'} ${where}`;
      self.set(k, (self.get(k) ?? 0) + (n.hitCount ?? 0) * us);
    }
    return [...self]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 25)
      .map(([k, v]) => `  ${fmtMs(v / 1000).padStart(7)} ms  ${k}`)
      .join('\n');
  } finally {
    await p.close();
  }
}

const stat = (xs: LoadSample[], f: (s: LoadSample) => number | null | undefined) =>
  summarize(xs.map(f).filter((v): v is number => typeof v === 'number'));

export function summarizeSamples(samples: Samples) {
  return {
    firstCardDom: stat(samples.big, (s) => s.firstCardDom),
    firstCard: stat(samples.big, (s) => s.firstCard),
    firstPage: stat(samples.big, (s) => s.firstPage),
    thumbs: stat(samples.big, (s) => s.thumbs),
    fcp: stat(samples.big, (s) => s.fcp),
    lcp: stat(samples.big, (s) => s.lcp),
    api: summarize(samples.blank.map((b) => b.apiMs)),
    blank: summarize(samples.blank.map((b) => b.loadMs)),
    scroll: stat(samples.big, (s) => s.scroll?.ms),
    smallFirstCardDom: stat(samples.small, (s) => s.firstCardDom),
    smallFirstCard: stat(samples.small, (s) => s.firstCard),
    smallFirstPage: stat(samples.small, (s) => s.firstPage),
  };
}

type LibrarySummary = ReturnType<typeof summarizeSamples>;

export interface ReportInput {
  /** Browser, database and server, for the heading. */
  title: string;
  config: { rows: number; small: number; reps: number; page: number; scrollPages: number; thumbnailRows: number };
  r: LibrarySummary;
  samples: Samples;
  cold: { blank: BlankSample; big: LoadSample; small: LoadSample };
  problems: string[];
}

const x = (a: number, b: number) => `${(a / b).toFixed(1)}x`;
const row = (label: string, s: Summary, vs?: Summary) => [
  label,
  fmtMs(s.p50),
  fmtMs(s.p95),
  vs ? x(s.p50, vs.p50) : '',
];

function table({ config: c, r }: ReportInput): string {
  return formatTable(
    ['', 'p50 ms', 'p95 ms', 'p50 vs blank page'],
    [
      [`Library, ${fmtInt(c.rows)} recordings`],
      row('  first card in the DOM', r.firstCardDom, r.blank),
      row('  first card painted', r.firstCard, r.blank),
      row(`  first page (${c.page} cards) painted`, r.firstPage, r.blank),
      row('  + thumbnails in view loaded', r.thumbs, r.blank),
      row('  first contentful paint', r.fcp, r.blank),
      row(`  scroll ${c.scrollPages} more pages (to ${c.page * (1 + c.scrollPages)} cards)`, r.scroll),
      [`Library, ${fmtInt(c.small)} recordings (same server, interleaved)`],
      row('  first card in the DOM', r.smallFirstCardDom, r.blank),
      row('  first card painted', r.smallFirstCard, r.blank),
      row(`  first page (${c.page} cards) painted`, r.smallFirstPage, r.blank),
      ['Baselines (same server, same browser, same run)'],
      row(`  API only: GET /api/recordings?limit=${c.page} from the page`, r.api),
      row('  blank static page: navigation -> load end', r.blank),
    ],
  );
}

function afterScroll(last: LoadSample, scrollPages: number): string {
  const m = last.metrics!;
  const s = last.scroll!;
  return (
    `After ${scrollPages} more pages (${s.cards} cards): ${fmtInt(s.elements)} elements, ` +
    `${fmtInt(m.Nodes!)} DOM nodes, ` +
    `JS heap ${fmtMb(m.JSHeapUsedSize!)} used after GC (${fmtMb(m.JSHeapTotalSize!)} total); ` +
    `long tasks while scrolling: ${s.longTasks.n} ` +
    `(${fmtMs(s.longTasks.totalMs)} ms, longest ${fmtMs(s.longTasks.maxMs)} ms)`
  );
}

/** The waterfall of the median first-card run: what the first card waited for. */
function waterfall(big: LoadSample[]): string {
  const median = [...big].sort((a, b) => a.firstCard! - b.firstCard!)[Math.floor((big.length - 1) / 2)]!;
  const ms = (v: number | null) => fmtMs(v ?? NaN);
  const api = median.requests
    .filter((q) => q.path.startsWith('/api/'))
    .map((q) => `${q.path.split('?')[0]} ${ms(q.start)}-${ms(q.end)}`)
    .join(', ');
  return (
    `Median run's waterfall (ms from navigation start): HTML 0-${ms(median.html)}, ` +
    `DOMContentLoaded ${ms(median.domContentLoaded)}, FCP ${ms(median.fcp)}, ${api}, ` +
    `first card ${ms(median.firstCard)}; long tasks ${median.longTasks.n} (${fmtMs(median.longTasks.totalMs)} ms)`
  );
}

export function printReport(input: ReportInput): void {
  const { config: c, r, samples, cold, problems } = input;
  const machine = `node ${process.version}, ${os.cpus().length} CPUs`;
  console.log(`\nRecorder library page benchmark — ${input.title}, ${machine}`);
  console.log(
    `${fmtInt(c.rows)} recordings (${fmtInt(c.thumbnailRows)} with a thumbnail) vs ${fmtInt(c.small)}; ` +
      `${c.reps} warm rounds (fresh tab each, HTTP cache warm), times from navigation start\n`,
  );
  console.log(table(input));
  console.log(
    `\nFirst card: ${fmtMs(r.firstCard.p50)} ms p50 = ${x(r.firstCard.p50, r.api.p50)} the API-only request, ` +
      `${x(r.firstCard.p50, r.blank.p50)} the blank page; ${fmtInt(c.rows)} vs ${fmtInt(c.small)} recordings: ` +
      x(r.firstCard.p50, r.smallFirstCard.p50),
  );
  console.log(afterScroll(samples.big[samples.big.length - 1]!, c.scrollPages));
  console.log(waterfall(samples.big));
  console.log(
    `Cold first visit (once): first card ${fmtMs(cold.big.firstCard!)} ms, ` +
      `first page ${fmtMs(cold.big.firstPage!)} ms, ` +
      `thumbnails ${fmtMs(cold.big.thumbs!)} ms; blank page ${fmtMs(cold.blank.loadMs)} ms`,
  );
  if (problems.length)
    console.log(`\nBrowser problems (${problems.length}):\n  ${[...new Set(problems)].slice(0, 10).join('\n  ')}`);
}
