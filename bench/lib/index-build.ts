/**
 * What an index build does to writers: one connection builds an index on recordings(title) while
 * another inserts single rows (autocommit, as the app would) as fast as it can. A plain CREATE INDEX
 * takes a SHARE lock, so inserts queue behind the whole build; CONCURRENTLY should barely show.
 */
import { connect } from './server.js';
import { userId } from './data.js';
import { msBetween, msSince, now, rng, sleep, summarize, type Summary } from './stats.js';

const INDEX = 'idx_bench_recordings_title';
const INSERT = `INSERT INTO recordings (user_id, title, recording_type, duration, file_size, mime_type, quality, status)
VALUES ($1, $2, 'screen', $3, $4, 'video/webm', 'high', 'processing')`;

export interface BuildResult {
  statement: string;
  buildMs: number;
  valid: boolean;
  /** Inserts whose execution overlapped the build. */
  during: Summary;
  /** The longest single insert that overlapped the build: how long a writer was stuck. */
  longestStallMs: number;
  insertsPerSecDuring: number;
  /** Inserts in the second before the build: the writer's normal latency. */
  before: Summary;
}

export interface BuildOptions {
  users: number;
  concurrently: boolean;
  /** The writer stops after this long even if the build is still running. */
  maxWriterMs: number;
  seed: number;
}

export async function runIndexBuild(url: string, o: BuildOptions): Promise<BuildResult> {
  const writer = await connect(url);
  const builder = await connect(url);
  try {
    await builder.query(`DROP INDEX IF EXISTS ${INDEX}`);
    const r = rng(o.seed);
    const samples: { start: bigint; end: bigint }[] = [];
    let stop = false;
    const writerStart = now();
    const writing = (async () => {
      for (let i = 0; !stop && msSince(writerStart) < o.maxWriterMs; i++) {
        const values = [
          userId(Math.floor(r() * o.users)),
          `Live insert ${i}`,
          1 + Math.floor(r() * 600),
          1 + Math.floor(r() * 1e8),
        ];
        const s = now();
        await writer.query({ name: 'bench_insert', text: INSERT, values });
        samples.push({ start: s, end: now() });
      }
    })();
    let b0 = 0n;
    let b1 = 0n;
    const statement = `CREATE INDEX ${o.concurrently ? 'CONCURRENTLY ' : ''}${INDEX} ON recordings (title)`;
    try {
      await sleep(1000);
      b0 = now();
      await builder.query(statement);
      b1 = now();
      await sleep(500);
    } finally {
      stop = true;
      await writing;
    }
    const valid =
      (
        await builder.query<{ v: boolean }>('SELECT indisvalid AS v FROM pg_index WHERE indexrelid = to_regclass($1)', [
          INDEX,
        ])
      ).rows[0]?.v ?? false;
    await builder.query(`DROP INDEX IF EXISTS ${INDEX}`);

    const during = samples.filter((s) => s.end > b0 && s.start < b1);
    const latencies = during.map((s) => msBetween(s.start, s.end));
    const buildMs = msBetween(b0, b1);
    const summary = summarize(latencies);
    return {
      statement,
      buildMs,
      valid,
      during: summary,
      longestStallMs: summary.max,
      insertsPerSecDuring: during.length / (buildMs / 1000),
      before: summarize(samples.filter((s) => s.end <= b0).map((s) => msBetween(s.start, s.end))),
    };
  } finally {
    await writer.end().catch(() => undefined);
    await builder.end().catch(() => undefined);
  }
}
