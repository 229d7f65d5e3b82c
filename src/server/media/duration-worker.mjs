// Runs mediabunny's duration scan off the main thread: on some malformed files it never returns, and a
// worker can be terminated where a loop on the main thread would freeze the whole server.
// Plain JavaScript so a worker needs no TypeScript loader.
import { parentPort, workerData } from 'node:worker_threads';
import { ALL_FORMATS, FilePathSource, Input } from 'mediabunny';

const input = new Input({ source: new FilePathSource(workerData.file), formats: ALL_FORMATS });
try {
  parentPort.postMessage({ ok: true, seconds: await input.computeDuration() });
} catch (err) {
  parentPort.postMessage({ ok: false, message: String(err?.message ?? err) });
} finally {
  input.dispose();
}
