/**
 * npm run bench:edits (issue 12) — the editor, through the real server (a child process, LOG_LEVEL=warn)
 * on a fresh database:
 *  1. history (historyBench): a recording with BENCH_EDITS_N edits (1,000) made through the API, then
 *     BENCH_EDITS_ROUNDS undo/redo round trips (200), each request timed on the client (If-Match, the whole
 *     history in every answer as the editor page reads it); the same with ?since=N (only the changed tail
 *     of the list), to show what the list's size costs; GET /api/recordings/:id in the same run as the floor
 *     of any signed-in request on this machine. Goal: p95 < 20 ms per request.
 *  2. render (renderBench): a BENCH_RENDER_SECONDS (60) s 1280×720 VP9/Opus take with a trim, a crop, a text and
 *     a gain, BENCH_RENDER_REPS (3) times rendered by the version-render job's code (VersionsService.render on
 *     the server's database and storage: download, probe, the render, the put with sha256, ready) beside the
 *     same ffmpeg command run by hand, alternating which goes first. Goal: job ≤ 1.2× by hand (medians).
 *
 * Env: BENCH_EDITS_N, BENCH_EDITS_ROUNDS, BENCH_RENDER_SECONDS, BENCH_RENDER_REPS, BENCH_DATABASE_URL
 * (bench/lib/server.ts). Quick run: BENCH_EDITS_N=100 BENCH_EDITS_ROUNDS=20 BENCH_RENDER_SECONDS=5
 * BENCH_RENDER_REPS=1. Results: stdout and bench/results/edits.json.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import type { Edit } from '../src/shared/edits.js';
import { apiUser, type ChildServer, startChildServer } from './lib/child-server.js';
import { benchEdits, jobRig, makeTake, renderByHand, renderByJob, stateOf, storeTake } from './lib/edits-render.js';
import { cleanupOnExit } from './lib/cleanup.js';
import { machine, runBench, writeResults } from './lib/report.js';
import { type BenchTarget, openTargetAndClient } from './lib/server.js';
import { envInt, fmtMs, formatTable, msSince, note, now, type Summary, summarize } from './lib/stats.js';

const RESULTS = path.resolve(import.meta.dirname, 'results/edits.json');
const N = envInt('BENCH_EDITS_N', 1000);
const ROUNDS = envInt('BENCH_EDITS_ROUNDS', 200);
const GOAL_P95_MS = 20;
const RENDER_SECONDS = envInt('BENCH_RENDER_SECONDS', 60);
const RENDER_REPS = envInt('BENCH_RENDER_REPS', 3);
const RENDER_GOAL_RATIO = 1.2;

/** What both parts share: the database, the server, a signed-in user (API token) and a work directory. */
export interface BenchEnv {
  target: BenchTarget;
  client: pg.Client;
  server: ChildServer;
  user: { userId: string; headers: Record<string, string> };
  work: string;
}

/** A processed 60 s 1280×720 recording row (no media: the history never reads it). */
async function insertRecording(env: BenchEnv): Promise<string> {
  const { rows } = await env.client.query<{ id: string }>(
    `INSERT INTO recordings (user_id, title, recording_type, duration, status, metadata)
     VALUES ($1, 'bench edits', 'camera', 60, 'completed', $2) RETURNING id::text`,
    [env.user.userId, JSON.stringify({ duration_ms: 60_000, width: 1280, height: 720 })],
  );
  return rows[0]!.id;
}

/** Edits as a user makes them: filters, audio, crops, texts and (short) cuts, never refused. */
function editNumber(i: number): Edit {
  switch (i % 5) {
    case 0:
      return { type: 'filter', parameters: { name: 'brightness', amount: ((i % 11) - 5) / 10 } };
    case 1:
      return { type: 'audio', parameters: { gain_db: (i % 13) - 6 } };
    case 2:
      return { type: 'crop', parameters: { x: (i % 10) * 2, y: 0, width: 1200, height: 700 } };
    case 3: {
      const from = (i % 50) + 1;
      const parameters = { text: `Note ${i}`, x: 0.1, y: 0.8, from, to: from + 2, size: 0.06, color: '#ffffff' };
      return { type: 'text_overlay', parameters: { ...parameters, background: null } };
    }
    default: {
      const start = (i % 55) + 0.5;
      return { type: 'trim', parameters: { start, end: start + 0.001, mode: 'cut' } };
    }
  }
}

export interface HistoryResults {
  edits: number;
  rounds: number;
  /** Each edit's request while the history grows from 0 to N. */
  edit: Summary;
  /** Undo and redo requests, the whole history in each answer (what the editor page does). */
  undo: Summary;
  redo: Summary;
  undoRedo: Summary;
  /** The same with ?since=N: the list's tail only. */
  undoRedoSince: Summary;
  /** GET of the whole history. */
  load: Summary;
  /** GET /api/recordings/:id in the same run: the floor of one signed-in request to this server here. */
  recordingGet: Summary;
  responseBytes: number;
  goalP95Ms: number;
  met: boolean;
}

export async function historyBench(env: BenchEnv): Promise<HistoryResults> {
  const id = await insertRecording(env);
  const base = `${env.server.url}/api/recordings/${id}/edits`;
  let revision = '0';
  let responseBytes = 0;
  const request = async (method: 'GET' | 'POST', url: string, body?: unknown): Promise<number> => {
    const t0 = now();
    const res = await fetch(url, {
      method,
      headers: {
        ...env.user.headers,
        'if-match': `"${revision}"`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    const ms = msSince(t0);
    if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${text.slice(0, 300)}`);
    revision = (JSON.parse(text) as { revision?: string }).revision ?? revision;
    responseBytes = text.length;
    return ms;
  };

  note(`history: ${N} edits through the API`);
  const edit: number[] = [];
  for (let i = 0; i < N; i++) edit.push(await request('POST', base, editNumber(i)));
  const undo: number[] = [];
  const redo: number[] = [];
  const since: number[] = [];
  note(`history: ${ROUNDS} undo/redo round trips (whole history), then ${ROUNDS} with ?since=${N}`);
  for (let i = 0; i < ROUNDS; i++) {
    undo.push(await request('POST', `${base}/undo`));
    redo.push(await request('POST', `${base}/redo`));
  }
  const fullBytes = responseBytes;
  for (let i = 0; i < ROUNDS; i++) {
    since.push(await request('POST', `${base}/undo?since=${N}`));
    since.push(await request('POST', `${base}/redo?since=${N}`));
  }
  const load: number[] = [];
  const recordingGet: number[] = [];
  for (let i = 0; i < Math.min(ROUNDS, 50); i++) {
    load.push(await request('GET', base));
    recordingGet.push(await request('GET', `${env.server.url}/api/recordings/${id}`));
  }
  const undoRedo = summarize([...undo, ...redo]);
  return {
    edits: N,
    rounds: ROUNDS,
    edit: summarize(edit),
    undo: summarize(undo),
    redo: summarize(redo),
    undoRedo,
    undoRedoSince: summarize(since),
    load: summarize(load),
    recordingGet: summarize(recordingGet),
    responseBytes: fullBytes,
    goalP95Ms: GOAL_P95_MS,
    met: undoRedo.p95 < GOAL_P95_MS,
  };
}

function printHistory(h: HistoryResults): void {
  const row = (what: string, s: Summary) => [what, String(s.n), fmtMs(s.p50), fmtMs(s.p95), fmtMs(s.max)];
  console.log(
    formatTable(
      ['history request', 'n', 'p50', 'p95', 'max'],
      [
        row(`edit (0..${h.edits} edits)`, h.edit),
        row('undo', h.undo),
        row('redo', h.redo),
        row('undo + redo', h.undoRedo),
        row(`undo + redo ?since=${h.edits}`, h.undoRedoSince),
        row('GET history', h.load),
        row('GET /api/recordings/:id (floor)', h.recordingGet),
      ],
    ),
  );
  const kib = Math.round(h.responseBytes / 1024);
  console.log(
    `undo/redo p95 ${fmtMs(h.undoRedo.p95)} with ${h.edits} edits (answer ${kib} KiB): ` +
      `goal < ${h.goalP95Ms} ms ${h.met ? 'met' : 'NOT met'}`,
  );
}

export interface RenderResults {
  take: { seconds: number; width: number; height: number; bytes: number };
  edits: string[];
  reps: number;
  /** Wall time of the job's work per render, and of the same ffmpeg command by hand. */
  job: Summary;
  byHand: Summary;
  /** median(job) / median(byHand). */
  ratio: number;
  goalRatio: number;
  met: boolean;
}

/** Part 2: the render job beside its own ffmpeg command run by hand, on one take, in the same run. */
export async function renderBench(env: BenchEnv): Promise<RenderResults> {
  const take = await makeTake(env.work, RENDER_SECONDS);
  note(`render: a ${take.seconds} s ${take.width}×${take.height} take (${Math.round(take.bytes / 1e6)} MB) made`);
  const rig = jobRig(env.target.url, path.join(env.work, 'data'));
  try {
    const id = await storeTake(env.client, rig.storage, env.user.userId, take);
    const edits = benchEdits(take);
    let revision = '0';
    for (const edit of edits) {
      const res = await fetch(`${env.server.url}/api/recordings/${id}/edits`, {
        method: 'POST',
        headers: { ...env.user.headers, 'if-match': `"${revision}"`, 'content-type': 'application/json' },
        body: JSON.stringify(edit),
      });
      if (res.status !== 201) throw new Error(`edit refused: ${res.status} ${await res.text()}`);
      revision = ((await res.json()) as { revision: string }).revision;
    }
    const state = stateOf(take, edits);
    const job: number[] = [];
    const byHand: number[] = [];
    for (let rep = 0; rep < RENDER_REPS; rep++) {
      const queued = await fetch(`${env.server.url}/api/recordings/${id}/versions`, {
        method: 'POST',
        headers: { ...env.user.headers, 'if-match': `"${revision}"` },
      });
      if (queued.status !== 202) throw new Error(`render refused: ${queued.status} ${await queued.text()}`);
      const versionId = ((await queued.json()) as { id: string }).id;
      const runJob = async () => job.push(await renderByJob(rig.service, versionId));
      const runByHand = async () => byHand.push(await renderByHand(take, state, env.work));
      if (rep % 2 === 0) await runByHand().then(runJob);
      else await runJob().then(runByHand);
      note(`render ${rep + 1}/${RENDER_REPS}: job ${fmtMs(job.at(-1)!)}, by hand ${fmtMs(byHand.at(-1)!)}`);
    }
    const jobs = summarize(job);
    const hands = summarize(byHand);
    const ratio = jobs.p50 / hands.p50;
    return {
      take: { seconds: take.seconds, width: take.width, height: take.height, bytes: take.bytes },
      edits: edits.map((e) => e.type),
      reps: RENDER_REPS,
      job: jobs,
      byHand: hands,
      ratio: Math.round(ratio * 1000) / 1000,
      goalRatio: RENDER_GOAL_RATIO,
      met: ratio <= RENDER_GOAL_RATIO,
    };
  } finally {
    await rig.close();
  }
}

function printRender(r: RenderResults): void {
  const row = (what: string, s: Summary) => [what, String(s.n), fmtMs(s.p50), fmtMs(s.max)];
  console.log(formatTable(['render', 'n', 'p50', 'max'], [row('job', r.job), row('ffmpeg by hand', r.byHand)]));
  console.log(
    `render of a ${r.take.seconds} s ${r.take.width}×${r.take.height} take (${r.edits.join(' + ')}): ` +
      `job ${r.ratio}× of the command by hand: goal ≤ ${r.goalRatio}× ${r.met ? 'met' : 'NOT met'}`,
  );
}

async function main(): Promise<void> {
  const started = now();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-bench-edits-'));
  const { cleanups, cleanup } = cleanupOnExit(work);
  try {
    const { target, client } = await openTargetAndClient(cleanups);
    const server = await startChildServer({
      name: 'recorder',
      dir: work,
      env: { DATABASE_URL: target.url, DATA_DIR: path.join(work, 'data'), LOG_LEVEL: 'warn', JOBS_ENABLED: 'false' },
    });
    cleanups.push({ what: 'stop recorder', run: () => server.stop() });
    const env: BenchEnv = { target, client, server, user: await apiUser(server.url, 'bench'), work };

    const history = await historyBench(env);
    printHistory(history);
    const render = await renderBench(env);
    printRender(render);
    const seconds = msSince(started) / 1000;
    writeResults(RESULTS, { ...machine(), database: target.server, seconds, history, render });
    note(`results written to ${path.relative(process.cwd(), RESULTS)}`);
  } finally {
    await cleanup();
  }
}

runBench(main);
