/**
 * Runs the backfills migrations declare (declaration.ts), in batches, each its own short transaction:
 * the batch and the cursor it moves commit together, so a kill at any moment loses at most the batch in
 * flight, and the next run resumes at the cursor. Batches wait for no row (SKIP LOCKED: a row a writer
 * holds is deferred and retried after the scan), give up on a table lock after the declared lock_timeout,
 * and pause between them. Several runners (servers, a foreground CLI) may run side by side: the
 * bookkeeping row is locked per batch, so one batch runs at a time and none runs twice.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { MigrationError } from '../migrator/errors.js';
import type { MigrationFile } from '../migrator/files.js';
import { BackfillRepository, type BackfillRow, type RejectedRow } from './backfill.repository.js';
import type { BackfillDeclaration } from './declaration.js';

/** Below every bigint key: where a scan starts. */
const MIN_KEY = '-9223372036854775808';
/** The first rows refused are kept on the row for `migrate backfills`; the count is always exact. */
const REJECTED_SAMPLE = 100;
/** A batch that runs longer than this is cut (and retried): a batch is meant to take milliseconds. */
const BATCH_STATEMENT_TIMEOUT = '60s';
/** Weight of the newest batch in the rows-per-second average. */
const RATE_WEIGHT = 0.3;

/** A MigrationError, so the CLI says it in one line like the engine's own. */
export class BackfillError extends MigrationError {
  constructor(code: 'BACKFILL_DRIFT' | 'BACKFILL_UNKNOWN' | 'BACKFILL_NOT_READY', message: string) {
    super(code, message);
    this.name = 'BackfillError';
  }
}

export type BackfillState = 'pending' | 'running' | 'finished';

export interface BackfillProgress {
  name: string;
  state: BackfillState;
  total: number;
  filled: number;
  rejected: number;
  /** filled + rejected: rows dealt with. */
  done: number;
  /** Rows per second (moving average over the latest batches); null before the first. */
  rate: number | null;
  /** Seconds left at that rate; null when unknown, 0 when finished. */
  etaSeconds: number | null;
  batches: number;
  deferred: number;
  failures: number;
  lastError: string | null;
  rejectedSample: RejectedRow[];
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface RunOptions {
  /** Override the declaration's batch size (keys per batch). */
  batchSize?: number;
  /** Override the declaration's pause between batches. */
  pauseMs?: number;
  signal?: AbortSignal;
  onBatch?: (p: BackfillProgress) => void;
  /** With it, a failed batch is reported here and retried after a growing wait; without it, run throws. */
  onError?: (err: Error, failures: number) => void;
}

export type StepOutcome = 'batch' | 'busy' | 'finished';

export function progressOf(name: string, row: BackfillRow | undefined): BackfillProgress {
  if (!row)
    return {
      name,
      state: 'pending',
      total: 0,
      filled: 0,
      rejected: 0,
      done: 0,
      rate: null,
      etaSeconds: null,
      batches: 0,
      deferred: 0,
      failures: 0,
      lastError: null,
      rejectedSample: [],
      startedAt: null,
      finishedAt: null,
    };
  const done = row.rowsFilled + row.rowsRejected;
  const left = Math.max(0, row.rowsTotal - done);
  const finished = row.state === 'finished';
  return {
    name,
    state: row.state,
    total: row.rowsTotal,
    filled: row.rowsFilled,
    rejected: row.rowsRejected,
    done,
    rate: row.rate,
    etaSeconds: finished ? 0 : row.rate && row.rate > 0 ? left / row.rate : null,
    batches: row.batches,
    deferred: row.deferredKeys.length,
    failures: row.failures,
    lastError: row.lastError,
    rejectedSample: row.rejectedSample,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
  };
}

const before = (a: string, b: string) => BigInt(a) < BigInt(b);

export class BackfillRunner {
  private readonly pool: pg.Pool;
  /** When this process's previous batch of each backfill ended (for the rate). */
  private readonly lastBatchEnd = new Map<string, number>();

  constructor(url: string) {
    // Its own connections, without the app pool's statement_timeout: the count may scan a large table.
    this.pool = new pg.Pool({ connectionString: url, max: 2, application_name: 'recorder-backfill' });
    this.pool.on('error', () => undefined);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async withRepo<T>(fn: (repo: BackfillRepository) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      return await fn(new BackfillRepository(client));
    } finally {
      client.release();
    }
  }

  /** The declared backfills whose migration is applied, with where each stands. */
  async list(files: MigrationFile[]): Promise<BackfillProgress[]> {
    return this.withRepo(async (repo) => {
      const applied = await repo.appliedVersions();
      const declared = files.filter((f) => f.backfill && applied.has(f.version)).map((f) => f.backfill!);
      if (!declared.length || !(await repo.hasTable())) return [];
      const rows = new Map((await repo.all()).map((r) => [r.name, r]));
      return declared.map((d) => progressOf(d.name, rows.get(d.name)));
    });
  }

  /** One step: start the backfill (count) if it has not started, else one batch. */
  async step(decl: BackfillDeclaration, batchSize = decl.batchSize): Promise<StepOutcome> {
    return this.withRepo(async (repo) => {
      let row = await repo.get(decl.name);
      if (!row) {
        const { total, endKey } = await repo.count(decl.countSql);
        await repo.start(decl.name, decl.checksum, total, endKey);
        row = (await repo.get(decl.name))!;
      }
      if (row.checksum !== decl.checksum)
        throw new BackfillError(
          'BACKFILL_DRIFT',
          `${decl.file} changed after its backfill started (checksum differs); backfills are frozen like ` +
            'migrations: restore the file and put the change in a new migration',
        );
      if (row.state === 'finished') return 'finished';
      return this.batch(repo, decl, batchSize);
    });
  }

  private async batch(repo: BackfillRepository, decl: BackfillDeclaration, batchSize: number): Promise<StepOutcome> {
    const started = Date.now();
    await repo.begin();
    try {
      await repo.setLocal(decl.lockTimeout, BATCH_STATEMENT_TIMEOUT);
      const row = await repo.lockRunning(decl.name);
      if (!row) {
        await repo.rollback();
        return (await repo.get(decl.name))?.state === 'finished' ? 'finished' : 'busy';
      }
      const scanning = row.endKey !== null && (row.cursor === null || before(row.cursor, row.endKey));
      const outcome = scanning
        ? await this.scanBatch(repo, decl, row, batchSize, started)
        : await this.deferredBatch(repo, decl, row, started);
      if (outcome === 'gone') {
        // The deferred row is gone (deleted meanwhile): what the batch saw was the next row, done already.
        await repo.rollback();
        await repo.dropDeferred(decl.name, row.deferredKeys[0]!);
        return 'batch';
      }
      await repo.commit();
      return outcome;
    } catch (err) {
      await repo.rollback().catch(() => undefined);
      await repo.recordFailure(decl.name, (err as Error).message).catch(() => undefined);
      throw err;
    }
  }

  private async scanBatch(
    repo: BackfillRepository,
    decl: BackfillDeclaration,
    row: BackfillRow,
    batchSize: number,
    started: number,
  ): Promise<StepOutcome> {
    const result = await repo.batch(decl.batchSql, row.cursor ?? MIN_KEY, batchSize);
    const cursor = result.lastKey ?? row.endKey;
    const deferredKeys = [...row.deferredKeys, ...result.locked];
    const scanDone = cursor === null || row.endKey === null || !before(cursor, row.endKey);
    return this.save(
      repo,
      decl,
      row,
      { cursor, deferredKeys, result, finished: scanDone && !deferredKeys.length },
      started,
    );
  }

  /** After the scan: the keys found locked, one at a time (a batch of one key). */
  private async deferredBatch(
    repo: BackfillRepository,
    decl: BackfillDeclaration,
    row: BackfillRow,
    started: number,
  ): Promise<StepOutcome | 'gone'> {
    const [key, ...rest] = row.deferredKeys;
    if (key === undefined)
      return this.save(repo, decl, row, { cursor: row.cursor, deferredKeys: [], finished: true }, started);
    const result = await repo.batch(decl.batchSql, (BigInt(key) - 1n).toString(), 1);
    if (result.lastKey !== key) return 'gone';
    const deferredKeys = [...rest, ...result.locked];
    return this.save(
      repo,
      decl,
      row,
      { cursor: row.cursor, deferredKeys, result, finished: !deferredKeys.length },
      started,
    );
  }

  private async save(
    repo: BackfillRepository,
    decl: BackfillDeclaration,
    row: BackfillRow,
    next: {
      cursor: string | null;
      deferredKeys: string[];
      result?: { filled: number; rejected: RejectedRow[] };
      finished: boolean;
    },
    started: number,
  ): Promise<StepOutcome> {
    const filled = next.result?.filled ?? 0;
    const rejected = next.result?.rejected ?? [];
    const sample = [...row.rejectedSample, ...rejected].slice(0, REJECTED_SAMPLE);
    const now = Date.now();
    const since = this.lastBatchEnd.get(decl.name);
    // Time since this process's previous batch (batch + pause), or this batch alone after a (re)start.
    const seconds = Math.max(0.001, (since !== undefined && now - since < 60_000 ? now - since : now - started) / 1000);
    const instant = (filled + rejected.length) / seconds;
    const rate = row.rate === null ? instant : row.rate * (1 - RATE_WEIGHT) + instant * RATE_WEIGHT;
    await repo.saveBatch(decl.name, {
      cursor: next.cursor,
      deferredKeys: next.deferredKeys,
      filled,
      rejected: rejected.length,
      rejectedSample: sample,
      rate,
      finished: next.finished,
    });
    this.lastBatchEnd.set(decl.name, now);
    return next.finished ? 'finished' : 'batch';
  }

  async progress(decl: BackfillDeclaration): Promise<BackfillProgress> {
    return this.withRepo(async (repo) => progressOf(decl.name, await repo.get(decl.name)));
  }

  /**
   * Runs a backfill to its end (or until signal aborts), pausing between batches. A failed batch is
   * retried after a growing wait (capped at a minute) when onError is given; otherwise it throws.
   */
  async run(decl: BackfillDeclaration, o: RunOptions = {}): Promise<BackfillProgress> {
    const pauseMs = o.pauseMs ?? decl.pauseMs;
    let failures = 0;
    while (!o.signal?.aborted) {
      let outcome: StepOutcome;
      try {
        outcome = await this.step(decl, o.batchSize);
        failures = 0;
      } catch (err) {
        if (!o.onError || err instanceof BackfillError) throw err;
        failures++;
        o.onError(err as Error, failures);
        await sleep(Math.min(60_000, 250 * 2 ** (failures - 1)), undefined, { signal: o.signal }).catch(
          () => undefined,
        );
        continue;
      }
      if (outcome !== 'busy') o.onBatch?.(await this.progress(decl));
      if (outcome === 'finished') break;
      await sleep(pauseMs, undefined, { signal: o.signal }).catch(() => undefined);
    }
    return this.progress(decl);
  }
}
