/**
 * Starts bench/lib/s3rver-child.ts: s3rver in a process of its own, so that in a benchmark it competes
 * for a CPU with neither the client nor the servers being measured.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import type { S3rverHandle } from '../../test/support/s3rver.js';
import { ROOT } from './child-server.js';

/** Where s3rver listens and how to sign for it (S3rverHandle without stop). */
export type S3Info = Omit<S3rverHandle, 'stop'>;

export interface S3rverProcess {
  info: S3Info;
  pid: number;
  /** SIGTERM: s3rver closes and deletes its directory. Idempotent. */
  stop(): Promise<void>;
}

export async function startS3rverProcess(bucket = 'recorder-bench'): Promise<S3rverProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/lib/s3rver-child.ts'), bucket], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await exited;
  };
  // Its first line on stdout is the handle, printed once it listens.
  const lines = readline.createInterface({ input: child.stdout! });
  const first = await new Promise<string | undefined>((resolve) => {
    lines.once('line', resolve);
    void exited.then(() => resolve(undefined));
  });
  lines.close();
  if (!first) throw new Error('s3rver did not start');
  return { info: JSON.parse(first) as S3Info, pid: child.pid!, stop };
}

/** The env a Recorder server needs to store into that s3rver (names: src/server/config.ts). */
export function s3Env(s3: S3Info): Record<string, string> {
  return {
    STORAGE_PROVIDER: 's3',
    S3_ENDPOINT: s3.endpoint,
    S3_BUCKET: s3.bucket,
    S3_REGION: 'us-east-1',
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    S3_FORCE_PATH_STYLE: 'true',
  };
}
