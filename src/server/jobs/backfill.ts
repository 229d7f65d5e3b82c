/**
 * Runs the pending backfills in the background of a server (db/backfill/runner.ts does the work), so
 * `migrate up` never waits for one. A loop, not a pg-boss job: a backfill is long, made of short
 * batches, and resumes from its own cursor; every server may run the loop (the bookkeeping row is locked
 * per batch, so batches never run twice). A failed batch is logged and retried after a growing wait.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BackfillRunner } from '../db/backfill/runner.js';
import type { MigrationFile } from '../db/migrator/files.js';
import type { Logger } from '../logger.js';

export interface BackgroundBackfills {
  /** Resolves when no declared backfill is left unfinished (for tests and `stop`). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/** How often the loop looks again for backfills to run (a migration applied by another process). */
const LOOK_AGAIN_MS = 60_000;

export function startBackfills(o: {
  url: string;
  logger: Logger;
  migrations: () => Promise<MigrationFile[]>;
  lookAgainMs?: number;
}): BackgroundBackfills {
  const runner = new BackfillRunner(o.url);
  const stopping = new AbortController();
  let idle: { promise: Promise<void>; resolve: () => void } = withResolvers();

  async function pass(): Promise<void> {
    const files = await o.migrations();
    for (const p of await runner.list(files)) {
      if (p.state === 'finished' || stopping.signal.aborted) continue;
      const decl = files.find((f) => f.backfill?.name === p.name)!.backfill!;
      o.logger.info({ backfill: p.name, done: p.done, total: p.total }, 'backfill running in the background');
      const last = await runner.run(decl, {
        signal: stopping.signal,
        onError: (err, failures) =>
          o.logger.warn({ backfill: p.name, failures, err: err.message }, 'backfill batch failed; it is retried'),
      });
      if (last.state === 'finished')
        o.logger.info(
          { backfill: p.name, filled: last.filled, rejected: last.rejected },
          last.rejected
            ? 'backfill finished; some rows could not be filled (recorder migrate backfills)'
            : 'backfill finished',
        );
    }
  }

  const loop = (async () => {
    while (!stopping.signal.aborted) {
      try {
        await pass();
        idle.resolve();
      } catch (err) {
        o.logger.warn({ err: (err as Error).message }, 'backfills could not run; trying again later');
      }
      await sleep(o.lookAgainMs ?? LOOK_AGAIN_MS, undefined, { signal: stopping.signal }).catch(() => undefined);
      if (!stopping.signal.aborted) idle = withResolvers();
    }
  })();

  return {
    idle: () => idle.promise,
    async stop() {
      stopping.abort();
      idle.resolve();
      await loop;
      await runner.close();
    },
  };
}

function withResolvers(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
