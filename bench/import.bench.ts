/**
 * npm run bench:import — `recorder import legacy` (issue 11) on an export of BENCH_IMPORT_N legacy items
 * of BENCH_IMPORT_ITEM_KB each (1,000 × 1 MiB: about 1 GiB of media, 1.33 GiB of JSON), beside the same
 * bytes uploaded by plain tus uploads (tus-js-client, one item at a time, as the browser's import sends
 * them) to a real server on the same database and DATA_DIR, in the same run. Goal: the CLI's media MiB/s
 * ≥ 0.8 × tus's.
 *
 * The CLI's time is the whole process (start, database, the file read, decoded, hashed, stored, the rows
 * written, jobs queued), wall clock; its start-up alone (a one-item export) is reported too. The server
 * runs with JOBS_ENABLED=false: neither side's processing is measured. Every item is checked afterwards:
 * the user has 2N recordings, and the CLI's hold the items' sha256.
 *
 * Env: BENCH_IMPORT_N (1000), BENCH_IMPORT_ITEM_KB (1024), BENCH_DATABASE_URL (bench/lib/server.ts).
 * Quick run: BENCH_IMPORT_N=20. Results: stdout and bench/results/import.json.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createLogger } from '../src/server/logger.js';
import { ensureWebBuild } from '../src/server/web/build.js';
import { startCluster } from '../test/support/cluster.js';
import { apiUser, ROOT } from './lib/child-server.js';
import { cleanupOnExit } from './lib/cleanup.js';
import { machine, runBench, writeResults } from './lib/report.js';
import { connect, openTarget } from './lib/server.js';
import { envInt, formatTable, msSince, note, now } from './lib/stats.js';
import { timedTusUpload } from './lib/tus-client.js';

const RESULTS = path.resolve(import.meta.dirname, 'results/import.json');
const N = envInt('BENCH_IMPORT_N', 1000);
const ITEM_BYTES = envInt('BENCH_IMPORT_ITEM_KB', 1024) * 1024;
const MiB = 1024 * 1024;
const GOAL_RATIO = 0.8;
const SERVER_ENV = { LOG_LEVEL: 'warn', JOBS_ENABLED: 'false' };
const BIN = path.join(ROOT, 'bin/recorder.js');

interface Item {
  file: string;
  sha256: string;
}

/** A real WebM's first 4 KiB (the sniff takes the item as WebM), then incompressible filler. */
async function makeItems(dir: string): Promise<{ items: Item[]; exportFile: string; tinyExport: string }> {
  const webm = path.join(dir, 'header.webm');
  const source = ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=15:duration=1'];
  await promisify(execFile)('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', ...source, '-c:v', 'libvpx', webm]);
  const base = randomBytes(ITEM_BYTES);
  fs.readFileSync(webm).subarray(0, 4096).copy(base);
  const items: Item[] = [];
  const exportFile = path.join(dir, 'export.json');
  const out = fs.createWriteStream(exportFile);
  const write = (s: string) =>
    out.write(s) ? Promise.resolve() : new Promise<void>((resolve) => out.once('drain', resolve));
  await write('[');
  for (let i = 0; i < N; i++) {
    // Each item its own bytes (its index in the last 4), so each has its own sha256.
    const bytes = Buffer.from(base);
    bytes.writeUInt32BE(i, bytes.length - 4);
    const file = path.join(dir, `item-${i}.webm`);
    fs.writeFileSync(file, bytes);
    items.push({ file, sha256: createHash('sha256').update(bytes).digest('hex') });
    const entry = { id: `bench-${i}`, title: `Bench ${i}`, type: 'screen', duration: 600, createdAt: 1_700_000_000 };
    await write(`${i ? ',' : ''}${JSON.stringify(entry).slice(0, -1)},"mediaBlob":"data:video/webm;base64,`);
    await write(bytes.toString('base64'));
    await write('"}');
  }
  await write(']');
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  const tinyExport = path.join(dir, 'tiny.json');
  const tiny = { id: 'tiny', type: 'screen', mediaBlob: `data:video/webm;base64,${base.toString('base64')}` };
  fs.writeFileSync(tinyExport, JSON.stringify([tiny]));
  return { items, exportFile, tinyExport };
}

/** `recorder import legacy` in a child process: wall time and its summary. */
function runCli(env: NodeJS.ProcessEnv, file: string, email: string): Promise<{ ms: number; stdout: string }> {
  const t0 = now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'import', 'legacy', file, '--user', email], { env, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve({ ms: msSince(t0), stdout });
      else reject(new Error(`the CLI exited ${code}: ${stdout}${stderr.slice(-2000)}`));
    });
  });
}

const mibPerSec = (bytes: number, ms: number) => bytes / MiB / (ms / 1000);

async function main(): Promise<void> {
  const started = now();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-bench-import-'));
  const { cleanups, cleanup } = cleanupOnExit(work);
  try {
    const target = await openTarget();
    cleanups.push({ what: 'bench database', run: () => target.cleanup() });
    await ensureWebBuild({ logger: createLogger('warn') });
    note(`writing ${N} items of ${ITEM_BYTES / 1024} KiB and their export`);
    const { items, exportFile, tinyExport } = await makeItems(work);
    const cluster = await startCluster({ databaseUrl: target.url, provider: 'local', size: 1, env: SERVER_ENV });
    cleanups.push({ what: 'stop the server', run: () => cluster.close() });
    const url = cluster.url(0);
    const { userId, headers } = await apiUser(url, 'bench');
    const c = await connect(target.url);
    cleanups.push({ what: 'close the bench connection', run: () => c.end() });
    const email = (await c.query('SELECT email FROM users WHERE id = $1', [userId])).rows[0].email as string;
    const total = N * ITEM_BYTES;

    note(`tus: ${N} uploads, one at a time`);
    const tus0 = now();
    for (const [i, item] of items.entries()) {
      await timedTusUpload({
        endpoint: `${url}/api/uploads`,
        headers,
        file: item.file,
        size: ITEM_BYTES,
        metadata: { title: `Bench ${i}`, recordingType: 'screen', duration: '600', filename: `item-${i}.webm` },
      });
    }
    const tusMs = msSince(tus0);

    const env = { ...process.env, DATABASE_URL: target.url, DATA_DIR: cluster.dataDir(0), LOG_LEVEL: '' };
    note('CLI: start-up alone (a one-item export)');
    const startup = await runCli(env, tinyExport, email);
    note(`CLI: the export of ${N} items (${(fs.statSync(exportFile).size / MiB).toFixed(0)} MiB of JSON)`);
    const cli = await runCli(env, exportFile, email);
    const imported = Number(/imported: (\d+)/.exec(cli.stdout)?.[1]);
    if (imported !== N) throw new Error(`the CLI imported ${imported} of ${N}:\n${cli.stdout}`);
    const peakMiB = Number(/peak memory: (\d+) MiB/.exec(cli.stdout)?.[1]);

    const { rows } = await c.query(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE metadata->>'upload_sha256' = ANY($2))::int AS matching
         FROM recordings WHERE user_id = $1`,
      [userId, items.map((i) => i.sha256)],
    );
    // tus's N, the CLI's N, and the tiny import's one; each item's sha256 on both sides.
    if (rows[0].n !== 2 * N + 1 || rows[0].matching !== 2 * N) {
      throw new Error(`expected ${2 * N + 1} recordings, ${2 * N} matching: ${JSON.stringify(rows[0])}`);
    }

    const tusRate = mibPerSec(total, tusMs);
    const cliRate = mibPerSec(total, cli.ms);
    const cliRateAfterStart = mibPerSec(total, cli.ms - startup.ms);
    const ratio = cliRate / tusRate;
    const header = ['path', 'items', 'media MiB', 'seconds', 'MiB/s', 'vs tus'];
    const seconds = (ms: number) => (ms / 1000).toFixed(1);
    const table = [
      ['tus uploads, one at a time', String(N), (total / MiB).toFixed(0), seconds(tusMs), tusRate.toFixed(1), '1.00'],
      [
        'recorder import legacy',
        String(N),
        (total / MiB).toFixed(0),
        seconds(cli.ms),
        cliRate.toFixed(1),
        ratio.toFixed(2),
      ],
      ['  its start-up (1 item)', '1', (ITEM_BYTES / MiB).toFixed(1), seconds(startup.ms), '', ''],
    ];
    const runtimeMs = msSince(started);
    console.log(
      `\nRecorder legacy import benchmark — node ${process.version}, ${os.cpus().length} CPUs, ${target.server}`,
    );
    console.log(formatTable(header, table));
    console.log(
      `\nCLI ${ratio.toFixed(2)}× tus (goal ≥ ${GOAL_RATIO}: ${ratio >= GOAL_RATIO ? 'met' : 'NOT met'}); ` +
        `without its start-up ${(cliRateAfterStart / tusRate).toFixed(2)}×; CLI peak memory ${peakMiB} MiB. ` +
        `Runtime ${seconds(runtimeMs)} s.`,
    );
    writeResults(RESULTS, {
      ...machine(),
      database: target.server,
      config: { items: N, itemBytes: ITEM_BYTES, exportBytes: fs.statSync(exportFile).size, serverEnv: SERVER_ENV },
      tus: { ms: tusMs, mibPerSec: tusRate, mode: 'tus-js-client, one upload at a time, whole item in one PATCH' },
      cli: { ms: cli.ms, mibPerSec: cliRate, startupMs: startup.ms, mibPerSecAfterStartup: cliRateAfterStart, peakMiB },
      ratio,
      goal: { ratio: GOAL_RATIO, met: ratio >= GOAL_RATIO },
      runtimeMs,
    });
  } finally {
    await cleanup();
  }
}

runBench(main);
