/** What every bench does with its results: the same header, one JSON file, the same exit on failure. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** When and on what the bench ran: the first fields of a results file. */
export const machine = () => ({ date: new Date().toISOString(), node: process.version, cpus: os.cpus().length });

/** Writes the results as pretty JSON (bench/results may not exist yet in a fresh checkout). */
export function writeResults(file: string, report: object): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}

/** Runs a bench's main: a failure prints its stack and makes the exit code 1 (main cleans up itself). */
export function runBench(main: () => Promise<void>): void {
  main().catch((err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exitCode = 1;
  });
}
