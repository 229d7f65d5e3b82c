/** bench:load's loss check and printed report. */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { LoadResult } from './load.js';
import { type FinishedUpload, LABELS, type MixResult, type MixUser } from './load-mix.js';
import { fmtInt, fmtMb, fmtMs, formatTable } from './stats.js';

export interface Scenario {
  name: string;
  mix: MixResult;
  rss?: { maxBytes: number; lastBytes: number; samples: number };
}

export interface LossCheck {
  /** Uploads that got their final 204 with a Recording-Id. */
  acknowledged: number;
  /** ... whose recording row exists with that size and upload sha256. */
  rowsMatching: number;
  /** ... whose media, read back through the API, has that sha256. */
  mediaMatching: number;
  problems: string[];
}

/** Every acknowledged upload: its row (size, upload_sha256) and its media read back through the API. */
export async function checkUploads(
  client: pg.Client,
  url: string,
  users: MixUser[],
  uploads: FinishedUpload[],
): Promise<LossCheck> {
  const problems: string[] = [];
  const { rows } = await client.query<{ id: string; user_id: string; file_size: string; sha: string | null }>(
    `SELECT id::text, user_id, file_size::text, metadata->>'upload_sha256' AS sha FROM recordings
      WHERE id = ANY($1::bigint[])`,
    [uploads.map((u) => u.recordingId)],
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  const auth = new Map(users.map((u) => [u.userId, u.auth]));
  let rowsMatching = 0;
  let mediaMatching = 0;
  for (const u of uploads) {
    const row = byId.get(u.recordingId);
    if (!row || Number(row.file_size) !== u.size || row.sha !== u.sha256) {
      problems.push(`recording ${u.recordingId}: ${row ? `size ${row.file_size}, sha256 ${row.sha}` : 'no row'}`);
      continue;
    }
    rowsMatching++;
    const res = await fetch(`${url}/api/recordings/${u.recordingId}/media`, { headers: auth.get(row.user_id) });
    const sha = createHash('sha256')
      .update(Buffer.from(await res.arrayBuffer()))
      .digest('hex');
    if (res.status === 200 && sha === u.sha256) mediaMatching++;
    else problems.push(`recording ${u.recordingId}: media ${res.status}, sha256 ${sha}`);
  }
  return { acknowledged: uploads.length, rowsMatching, mediaMatching, problems: problems.slice(0, 20) };
}

export interface LoadReport {
  version: string;
  server: string;
  scenarios: Scenario[];
  health: LoadResult;
  outage?: Record<string, unknown>;
  loss: LossCheck;
  goalP99Ms: number;
}

const failures = (f: Record<string, number>) =>
  Object.entries(f)
    .map(([status, n]) => `${n}x${status === '0' ? 'net' : status}`)
    .join(' ') || '0';

function scenarioTable(s: Scenario, oneClient: MixResult | undefined): string {
  const rows = LABELS.map((label) => {
    const k = s.mix.byKind[label];
    const base = oneClient?.byKind[label].latencyMs;
    return [
      `  ${label}`,
      fmtInt(k.requests),
      fmtMs(k.latencyMs.p50),
      fmtMs(k.latencyMs.p99),
      base ? `${fmtMs(base.p50)} / ${fmtMs(base.p99)}` : '',
      failures(k.failures),
    ];
  });
  return formatTable(['', 'requests', 'p50 ms', 'p99 ms', '1 client p50/p99', 'not as expected'], rows);
}

export function printLoad(r: LoadReport): void {
  console.log(`\nRecorder load benchmark — ${r.version.split(',')[0]} (${r.server}), node ${process.version}`);
  const oneClient = r.scenarios[0]?.mix;
  for (const s of r.scenarios) {
    const errors = s.mix.phases.before.errors + s.mix.phases.outage.errors + s.mix.phases.after.errors;
    const rss = s.rss ? `; server RSS max ${fmtMb(s.rss.maxBytes)}, last ${fmtMb(s.rss.lastBytes)}` : '';
    console.log(
      `\n${s.name}: ${fmtInt(s.mix.requests)} requests in ${s.mix.seconds.toFixed(1)} s = ` +
        `${fmtInt(s.mix.rps)} req/s, errors ${errors}${rss}`,
    );
    console.log(scenarioTable(s, s.mix.clients > 1 ? oneClient : undefined));
    if (s.mix.errorSamples.length) console.log(`  errors (samples): ${s.mix.errorSamples.slice(0, 5).join(' | ')}`);
  }
  console.log(
    `\nBaseline GET /health, ${r.health.total ? fmtInt(r.health.rps) : '-'} req/s at the same connections ` +
      `(p50 ${fmtMs(r.health.latencyMs.p50)} / p99 ${fmtMs(r.health.latencyMs.p99)} ms)`,
  );
  const main = r.scenarios[1]?.mix;
  if (main) {
    const worst = Math.max(...LABELS.map((l) => main.byKind[l].latencyMs.p99).filter(Number.isFinite));
    const errors = main.phases.before.errors;
    console.log(
      `Goal (${main.clients} clients): 0 errors, p99 <= ${r.goalP99Ms} ms per kind: errors ${errors}, ` +
        `worst p99 ${fmtMs(worst)} ms — ${errors === 0 && worst <= r.goalP99Ms ? 'met' : 'NOT met'}`,
    );
  }
  const outage = r.scenarios[2]?.mix;
  if (outage && r.outage) {
    const p = outage.phases;
    console.log(
      `Outage (PostgreSQL stopped at ${r.outage.stoppedAtS} s, started at ${r.outage.startedAtS} s, server ready ` +
        `again at ${r.outage.readyAgainAtS} s): before ${fmtInt(p.before.requests)} requests, ` +
        `${p.before.errors} errors; ` +
        `during ${fmtInt(p.outage.requests)}: ${fmtInt(p.outage.ok)} ok, ${fmtInt(p.outage.status503)} 503, ` +
        `${p.outage.errors} other; after ${fmtInt(p.after.requests)}: ${p.after.errors} errors, ` +
        `${p.after.status503} 503`,
    );
  }
  const l = r.loss;
  console.log(
    `Nothing lost: ${fmtInt(l.acknowledged)} uploads acknowledged (final 204), ${fmtInt(l.rowsMatching)} rows with ` +
      `their size and sha256, ${fmtInt(l.mediaMatching)} media read back with their sha256` +
      (l.problems.length ? `; problems: ${l.problems.slice(0, 5).join(' | ')}` : ''),
  );
}
