/**
 * A 429 says when to come back, in the header clients and proxies read: the limits that throw it
 * (sign-in, share passwords, guest comments) put the wait in the error's details.retryAfterSeconds.
 */
import type { FastifyReply } from 'fastify';
import { AppError } from '../errors.js';

export async function withRetryAfter<T>(reply: FastifyReply, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    const details = err instanceof AppError ? (err.details as { retryAfterSeconds?: number } | undefined) : undefined;
    if (details?.retryAfterSeconds) reply.header('retry-after', String(details.retryAfterSeconds));
    throw err;
  }
}
