import fs from 'node:fs';
import { note } from './stats.js';

export interface Cleanup {
  what: string;
  run: () => Promise<void>;
}

/**
 * Everything a bench starts is undone in reverse order, on success, failure or Ctrl-C: pushed as it is
 * started, run once. The work directory is the first thing pushed, so it goes last.
 */
export function cleanupOnExit(work: string): { cleanups: Cleanup[]; cleanup: () => Promise<void> } {
  const cleanups: Cleanup[] = [
    { what: `delete ${work}`, run: () => fs.promises.rm(work, { recursive: true, force: true }) },
  ];
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      for (const c of cleanups.reverse()) {
        try {
          await c.run();
        } catch (err) {
          note(`cleanup: ${c.what} failed: ${(err as Error).message}`);
        }
      }
    })());
  let exiting = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (exiting) return;
    exiting = true;
    note(`\n${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { cleanups, cleanup };
}
