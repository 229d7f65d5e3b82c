/** Runs pg_dump / pg_restore with libpq settings in the environment, reporting progress from --verbose lines. */
import { spawn } from 'node:child_process';
import { BackupError } from './manifest.js';
import { libpqEnv } from './pg-tools.js';

export interface ToolRun {
  binary: string;
  args: string[];
  url: string;
  /** Called for every stderr line that matches (a table's data starts). */
  onStep?: () => void;
  stepPattern?: RegExp;
}

export function runPgTool(run: ToolRun): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(run.binary, run.args, { env: libpqEnv(run.url), stdio: ['ignore', 'ignore', 'pipe'] });
    const tail: string[] = [];
    let partial = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (run.stepPattern?.test(line)) run.onStep?.();
        else if (/error|warning|detail|hint|fatal/i.test(line)) tail.push(line); // --verbose chatter left out
      }
      tail.splice(0, Math.max(0, tail.length - 20));
    });
    child.on('error', (err) => reject(new BackupError('BACKUP_TOOL_FAILED', `${run.binary}: ${err.message}`)));
    child.on('close', (code) => {
      if (code === 0) resolve();
      else
        reject(
          new BackupError(
            'BACKUP_TOOL_FAILED',
            `${run.binary} failed (exit ${code}):\n${[...tail, partial].filter(Boolean).join('\n')}`,
          ),
        );
    });
  });
}
