/**
 * bench:load's driver: N clients, each a loop of requests drawn from a weighted mix (library pages,
 * recording reads, media Range reads, heartbeats, small tus uploads), over keep-alive HTTP/1.1 on
 * loopback. Every answer is timed and classified by the time it was sent (before, during or after a
 * database outage when there is one); uploads that got their final 204 are kept for the loss check.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { fakeWebm } from '../../test/support/tus-http.js';
import { msSince, now, rng, summarize, type Summary } from './stats.js';

export const KINDS = ['library', 'read', 'range', 'heartbeat', 'upload'] as const;
export type Kind = (typeof KINDS)[number];
/** What is timed: each request of a kind (an upload's create and its finishing PATCH apart). */
export const LABELS = ['library', 'read', 'range', 'heartbeat', 'upload create', 'upload PATCH + finish'] as const;
export type Label = (typeof LABELS)[number];

/**
 * Share of each kind in the mix (an upload is two requests: create and one PATCH that finishes it).
 * BENCH_LOAD_MIX overrides some, e.g. "upload=0,library=60" (to see what one kind costs the others).
 */
export const WEIGHTS: Record<Kind, number> = {
  library: 35,
  read: 25,
  range: 20,
  heartbeat: 15,
  upload: 5,
  ...Object.fromEntries(
    (process.env.BENCH_LOAD_MIX ?? '')
      .split(',')
      .filter(Boolean)
      .map((pair) => {
        const [kind, weight] = pair.split('=');
        if (!KINDS.includes(kind as Kind) || !(Number(weight) >= 0))
          throw new Error(`BENCH_LOAD_MIX: "${pair}" is not kind=weight with kind one of ${KINDS.join(', ')}`);
        return [kind, Number(weight)];
      }),
  ),
};
/** Bytes of one small upload (a WebM header the sniff accepts, then noise). */
export const UPLOAD_BYTES = 64 * 1024;
/** A request that takes longer than this is an error (the server must answer, if only with a 503). */
const REQUEST_TIMEOUT_MS = 15_000;

export interface MixUser {
  userId: string;
  auth: Record<string, string>;
  /** Recordings with media, for reads and Range reads. */
  media: { id: string; size: number }[];
  /** An active recording session of theirs, for heartbeats. */
  sessionId: string;
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One HTTP request on the shared keep-alive agent; rejects on a network error or the timeout. */
export function send(
  agent: http.Agent,
  base: URL,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer | string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent, host: base.hostname, port: base.port, method, path, headers, timeout: REQUEST_TIMEOUT_MS },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout after ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

export type Phase = 'before' | 'outage' | 'after';

/** One request's fate. */
interface Outcome {
  kind: Label;
  ms: number;
  status: number;
  /** Expected answer (2xx of the kind). */
  ok: boolean;
  phase: Phase;
  error?: string;
}

export interface FinishedUpload {
  recordingId: string;
  size: number;
  sha256: string;
}

export interface KindStats {
  requests: number;
  ok: number;
  latencyMs: Summary;
  /** Answers other than the kind's 2xx, by status (0: network error or timeout). */
  failures: Record<string, number>;
}

export interface MixResult {
  clients: number;
  seconds: number;
  requests: number;
  rps: number;
  byKind: Record<Label, KindStats>;
  /** Per phase: requests, expected answers, 503s, and every other failure (the errors). */
  phases: Record<Phase, { requests: number; ok: number; status503: number; errors: number }>;
  errorSamples: string[];
  uploads: FinishedUpload[];
}

export interface MixOptions {
  base: URL;
  users: MixUser[];
  clients: number;
  seconds: number;
  seed: number;
  /** Which phase a request sent now belongs to (an outage scenario moves it along). */
  phase?: () => Phase;
}

const TUS = { 'Tus-Resumable': '1.0.0' };

function metadataHeader(meta: Record<string, string>): string {
  return Object.entries(meta)
    .map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`)
    .join(',');
}

/** The state one client keeps between its requests. */
interface Client {
  user: MixUser;
  random: () => number;
  cursor: string | null;
  uploads: number;
  /** Where the uploads that got their final 204 go. */
  finished: FinishedUpload[];
}

interface Timed {
  label: Label;
  answer: Answer;
  ok: boolean;
  ms: number;
}
type Step = (c: Client, agent: http.Agent, base: URL) => Promise<Timed[]>;

/** send(), timed; `ok` says whether the answer is the expected one. */
async function timed(label: Label, request: Promise<Answer>, ok: (a: Answer) => boolean, t0 = now()): Promise<Timed> {
  const answer = await request;
  return { label, answer, ok: ok(answer), ms: msSince(t0) };
}

const json = (a: Answer) => JSON.parse(a.body.toString('utf8')) as Record<string, unknown>;

/** Every step returns its answers and whether each was the expected one. */
const STEPS: Record<Kind, Step> = {
  async library(c, agent, base) {
    // Half the time the next page (a cursor from an earlier first page), else the first page.
    const path = c.cursor && c.random() < 0.5 ? `/api/recordings?cursor=${c.cursor}` : '/api/recordings';
    const r = await timed('library', send(agent, base, 'GET', path, c.user.auth), (a) => a.status === 200);
    if (r.ok && path === '/api/recordings') c.cursor = (json(r.answer).nextCursor as string) ?? null;
    return [r];
  },
  async read(c, agent, base) {
    const m = c.user.media[Math.floor(c.random() * c.user.media.length)]!;
    return [
      await timed('read', send(agent, base, 'GET', `/api/recordings/${m.id}`, c.user.auth), (a) => a.status === 200),
    ];
  },
  async range(c, agent, base) {
    const m = c.user.media[Math.floor(c.random() * c.user.media.length)]!;
    const start = Math.floor(c.random() * (m.size - 16 * 1024));
    const headers = { ...c.user.auth, range: `bytes=${start}-${start + 16 * 1024 - 1}` };
    const request = send(agent, base, 'GET', `/api/recordings/${m.id}/media`, headers);
    return [await timed('range', request, (a) => a.status === 206 && a.body.length === 16 * 1024)];
  },
  async heartbeat(c, agent, base) {
    const headers = { ...c.user.auth, 'content-type': 'application/json' };
    const body = JSON.stringify({ durationMs: 1000 + Math.floor(c.random() * 600_000) });
    const request = send(agent, base, 'POST', `/api/sessions/${c.user.sessionId}/heartbeat`, headers, body);
    return [await timed('heartbeat', request, (a) => a.status === 200 || a.status === 204)];
  },
  async upload(c, agent, base) {
    const bytes = fakeWebm(UPLOAD_BYTES - 38, Math.floor(c.random() * 2 ** 31));
    const meta = metadataHeader({ title: `Load ${++c.uploads}`, recordingType: 'screen', filename: 'load.webm' });
    const createHeaders = { ...TUS, ...c.user.auth, 'Upload-Length': String(bytes.length), 'Upload-Metadata': meta };
    const created = await timed(
      'upload create',
      send(agent, base, 'POST', '/api/uploads', createHeaders),
      (a) => a.status === 201 && typeof a.headers.location === 'string',
    );
    if (!created.ok) return [created];
    const path = new URL(created.answer.headers.location!, base).pathname;
    const patchHeaders = {
      ...TUS,
      ...c.user.auth,
      'Content-Type': 'application/offset+octet-stream',
      'Upload-Offset': '0',
    };
    const patched = await timed('upload PATCH + finish', send(agent, base, 'PATCH', path, patchHeaders, bytes), (a) => {
      return a.status === 204 && typeof a.headers['recording-id'] === 'string';
    });
    if (patched.ok) {
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      c.finished.push({ recordingId: patched.answer.headers['recording-id'] as string, size: bytes.length, sha256 });
    }
    return [created, patched];
  },
};

function pickKind(random: () => number): Kind {
  const total = KINDS.reduce((sum, k) => sum + WEIGHTS[k], 0);
  let x = random() * total;
  for (const k of KINDS) {
    x -= WEIGHTS[k];
    if (x < 0) return k;
  }
  return 'library';
}

/** Runs the mix for o.seconds with o.clients clients at once; every client starts its next request at once. */
export async function runMix(o: MixOptions): Promise<MixResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.clients });
  const outcomes: Outcome[] = [];
  const uploads: FinishedUpload[] = [];
  const errorSamples = new Set<string>();
  const phase = o.phase ?? (() => 'before' as Phase);
  const started = now();
  const deadline = Date.now() + o.seconds * 1000;
  const loop = async (i: number) => {
    const client: Client = {
      user: o.users[i % o.users.length]!,
      random: rng(o.seed + i),
      cursor: null,
      uploads: 0,
      finished: uploads,
    };
    while (Date.now() < deadline) {
      const kind = pickKind(client.random);
      const sentIn = phase();
      const t = now();
      try {
        for (const { label, answer, ok, ms } of await STEPS[kind](client, agent, o.base)) {
          outcomes.push({ kind: label, ms, status: answer.status, ok, phase: sentIn });
          if (!ok && answer.status !== 503 && errorSamples.size < 20)
            errorSamples.add(`${label} ${answer.status} ${answer.body.toString('utf8').slice(0, 160)}`);
        }
      } catch (err) {
        const error = (err as Error).message;
        const label: Label = kind === 'upload' ? 'upload create' : kind;
        outcomes.push({ kind: label, ms: msSince(t), status: 0, ok: false, phase: sentIn, error });
        if (errorSamples.size < 20) errorSamples.add(`${kind} network: ${error}`);
      }
    }
  };
  await Promise.all(Array.from({ length: o.clients }, (_, i) => loop(i)));
  agent.destroy();
  const seconds = msSince(started) / 1000;
  return summarizeMix(outcomes, o.clients, seconds, [...errorSamples], uploads);
}

function summarizeMix(
  outcomes: Outcome[],
  clients: number,
  seconds: number,
  errorSamples: string[],
  uploads: FinishedUpload[],
): MixResult {
  const byKind = {} as Record<Label, KindStats>;
  for (const kind of LABELS) {
    const mine = outcomes.filter((x) => x.kind === kind);
    const failures: Record<string, number> = {};
    for (const x of mine) if (!x.ok) failures[x.status] = (failures[x.status] ?? 0) + 1;
    byKind[kind] = {
      requests: mine.length,
      ok: mine.filter((x) => x.ok).length,
      latencyMs: summarize(mine.filter((x) => x.ok).map((x) => x.ms)),
      failures,
    };
  }
  const phases = {} as MixResult['phases'];
  for (const p of ['before', 'outage', 'after'] as const) {
    const mine = outcomes.filter((x) => x.phase === p);
    const status503 = mine.filter((x) => x.status === 503).length;
    const ok = mine.filter((x) => x.ok).length;
    phases[p] = { requests: mine.length, ok, status503, errors: mine.length - ok - status503 };
  }
  return {
    clients,
    seconds,
    requests: outcomes.length,
    rps: outcomes.length / seconds,
    byKind,
    phases,
    errorSamples,
    uploads,
  };
}
