/**
 * Where the HTTP and upload series are measured, from outside the code they measure: a root onRequest
 * hook for every request, and wrappers around the tus datastore's write and the upload finish.
 */
import type { FastifyInstance } from 'fastify';
import type { Metrics } from './metrics.js';

/**
 * Every request's duration, timed until its response is sent or its connection closes. The end is taken
 * from the Node response, not Fastify's onResponse: tus replies are hijacked and skip that hook. `route`
 * is the route's template (bounded), 'unmatched' when no route matched (a 404 from the not-found handler).
 */
export function instrumentHttp(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onRequest', async (req, reply) => {
    const end = metrics.httpDuration.startTimer();
    const route = req.routeOptions.url ?? 'unmatched';
    let done = false;
    const observe = () => {
      if (done) return;
      done = true;
      end({ method: req.method, route, status: String(reply.raw.statusCode) });
    };
    reply.raw.once('finish', observe);
    reply.raw.once('close', observe);
  });
}

interface UploadWriter {
  write(source: unknown, id: string, offset: number): Promise<number>;
}

/**
 * The tus datastore's write, counted: a request in progress while its bytes stream in, and the bytes the
 * offset advanced by once stored (a failed write adds nothing; its bytes are not kept).
 */
export function instrumentUploadWrites(store: UploadWriter, metrics: Metrics): void {
  const write = store.write.bind(store);
  store.write = async (source, id, offset) => {
    metrics.uploadsInProgress.inc();
    try {
      const reached = await write(source, id, offset);
      if (reached > offset) metrics.uploadBytes.inc(reached - offset);
      return reached;
    } finally {
      metrics.uploadsInProgress.dec();
    }
  };
}

interface Finisher<T> {
  finish(uploadId: string): Promise<T>;
}

/** The upload finish timed by outcome (done, failed); the HEAD recovery path calls the same method. */
export function instrumentUploadFinish<T>(uploads: Finisher<T>, metrics: Metrics): void {
  const finish = uploads.finish.bind(uploads);
  uploads.finish = async (uploadId) => {
    const end = metrics.uploadFinish.startTimer();
    try {
      const result = await finish(uploadId);
      end({ outcome: 'done' });
      return result;
    } catch (err) {
      end({ outcome: 'failed' });
      throw err;
    }
  };
}
