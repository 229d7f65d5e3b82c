/**
 * s3rver (test/support/s3rver.ts) in a process of its own, so that in a benchmark it competes for a CPU
 * with neither the client nor the server being measured. Prints one JSON line (S3rverHandle without
 * stop) once it listens; SIGTERM/SIGINT stop it and delete its directory.
 *
 * Run: node --import tsx bench/lib/s3rver-child.ts [bucket]
 */
import { startS3rver } from '../../test/support/s3rver.js';

const s3 = await startS3rver(process.argv[2] ?? 'recorder-bench');
const { stop, ...info } = s3;
process.stdout.write(`${JSON.stringify(info)}\n`);
const shutdown = () => {
  void stop().finally(() => process.exit(0));
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
