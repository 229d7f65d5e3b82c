/** bench:upload's results: what one provider's runs measured, the goals, and the table printed. */
import type { RssGrowth } from './child-server.js';
import { fmtMb } from './stats.js';
import { MiB, type Timed } from './upload-baselines.js';

/** Issue 8's goals, printed beside the ratios. */
export const GOALS = {
  /** A single upload end to end, ours/raw MiB/s. */
  endToEndRatio: 0.9,
  /** Last byte sent to the response carrying Recording-Id, for 1 GiB. */
  finishMs: 500,
  /** Many uploads at once over two servers, aggregate ours/raw MiB/s. */
  concurrentRatio: 0.8,
  /** Each server's peak RSS minus its RSS before the run. */
  rssGrowthBytes: 100 * MiB,
};

export interface SingleRun {
  sizeMiB: number;
  baseline: Timed;
  ours: Timed & { sentMs: number; finishMs: number; recordingId: string };
  /** Server 0's, the one that took the upload. */
  rss: RssGrowth;
}

export interface ConcurrentRun {
  uploads: number;
  sizeMiB: number;
  baseline: Timed;
  ours: Timed & { finishP50Ms: number; finishMaxMs: number };
  /** One per server. */
  rss: RssGrowth[];
}

export interface ProviderRun {
  single: SingleRun;
  concurrent: ConcurrentRun;
}

/** Which goals a provider's runs met, for the results file. */
export function goalsMet(run: ProviderRun) {
  return {
    endToEnd: run.single.ours.mibPerSec / run.single.baseline.mibPerSec >= GOALS.endToEndRatio,
    finish: run.single.ours.finishMs < GOALS.finishMs,
    concurrent: run.concurrent.ours.mibPerSec / run.concurrent.baseline.mibPerSec >= GOALS.concurrentRatio,
    rss: [run.single.rss, ...run.concurrent.rss].every((r) => r.growth < GOALS.rssGrowthBytes),
  };
}

const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);
const met = (ok: boolean) => (ok ? 'yes' : 'NO');
const ratioOf = (ours: Timed, base: Timed) => ours.mibPerSec / base.mibPerSec;

function rssRow(label: string, r: RssGrowth): string[] {
  const value = `${fmtMb(r.before)} -> ${fmtMb(r.peak)} (+${fmtMb(r.growth)})`;
  const ok = r.growth < GOALS.rssGrowthBytes;
  return [`  ${label} RSS before -> peak${r.peakFromKernel ? '' : ' [sampled]'}`, '', value, '', '< 100 MB', met(ok)];
}

function singleRows(s: SingleRun): string[][] {
  const { baseline: b, ours: o } = s;
  const ratio = ratioOf(o, b);
  return [
    [`  one ${s.sizeMiB} MiB upload: MiB/s end to end`, f1(b.mibPerSec), f1(o.mibPerSec), `${f2(ratio)}x`],
    ['    goal: end to end vs raw', '', '', '', `>= ${f2(GOALS.endToEndRatio)}x`, met(ratio >= GOALS.endToEndRatio)],
    ['    seconds', f1(b.ms / 1000), f1(o.ms / 1000), `${f2(o.ms / b.ms)}x`],
    ['    transfer alone (to the last byte sent), MiB/s', '', f1(s.sizeMiB / (o.sentMs / 1000)), ''],
    [
      '    finish: last byte sent -> response with Recording-Id, s',
      b.completeMs === undefined ? '' : (b.completeMs / 1000).toFixed(3),
      (o.finishMs / 1000).toFixed(3),
      '',
      `< ${GOALS.finishMs / 1000} s (1 GiB)`,
      met(o.finishMs < GOALS.finishMs),
    ],
    ...(b.completeMs === undefined
      ? []
      : [["      (baseline: the object store's own CompleteMultipartUpload in the raw run)", '', '', '']]),
    rssRow('  server 0', s.rss),
  ];
}

function concurrentRows(c: ConcurrentRun, servers: number): string[][] {
  const { baseline: b, ours: o } = c;
  const ratio = ratioOf(o, b);
  const label = `  ${c.uploads} x ${c.sizeMiB} MiB at once over ${servers} servers: aggregate MiB/s`;
  return [
    [label, f1(b.mibPerSec), f1(o.mibPerSec), `${f2(ratio)}x`],
    ['    goal: aggregate vs raw', '', '', '', `>= ${f2(GOALS.concurrentRatio)}x`, met(ratio >= GOALS.concurrentRatio)],
    ['    seconds, all done', f1(b.ms / 1000), f1(o.ms / 1000), `${f2(o.ms / b.ms)}x`],
    ['    finish p50 / max, s', '', `${f2(o.finishP50Ms / 1000)} / ${f2(o.finishMaxMs / 1000)}`, ''],
    ...c.rss.map((r, i) => rssRow(`  server ${i}`, r)),
  ];
}

export const TABLE_HEADER = ['', 'baseline', 'ours', 'ours/baseline', 'goal', 'met'];

/** One provider's section of the table: a heading row, then the single and the concurrent run. */
export function providerRows(heading: string, run: ProviderRun, servers: number): string[][] {
  return [[heading], ...singleRows(run.single), ...concurrentRows(run.concurrent, servers)];
}
