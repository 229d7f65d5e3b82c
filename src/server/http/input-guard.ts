/**
 * The one validation layer every request passes before its route's schema (docs/security.md, "Hostile
 * input"):
 *  - JSON bodies are read with a byte limit (413 JSON_TOO_LARGE) and their nesting is counted in the raw
 *    text (400 JSON_TOO_DEEP) before JSON.parse, so nothing downstream can recurse into a deep document;
 *  - an id param that no bigint can hold is a 404 with its route's own not-found code, never a query;
 *  - NUL characters and lone UTF-16 surrogates in any text — params, query string, JSON body — are a 400
 *    INVALID_TEXT naming the field (tus Upload-Metadata gets the same check in uploads/upload-meta.ts).
 */
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import getRawBody from 'raw-body';
import { AppError, type ErrorCode } from '../errors.js';
import { bigintIdParams, isBigintId } from '../ids.js';
import { findUnstorableText, invalidText, jsonDepthExceeds } from './text.js';

/** Deepest JSON nesting accepted: our own bodies use 3 levels; device info and settings a few more. */
export const MAX_JSON_DEPTH = 64;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Params holding bigint ids, with the not-found code of what each names (set by the input guard). */
    bigintIds?: [param: string, notFound: ErrorCode][];
  }
}

/** What an id param names, from the path segment before it: /api/recordings/:id is a recording. */
const NOT_FOUND_BY_RESOURCE: Record<string, ErrorCode> = {
  projects: 'PROJECT_NOT_FOUND',
  recordings: 'RECORDING_NOT_FOUND',
  sessions: 'SESSION_NOT_FOUND',
  tokens: 'TOKEN_NOT_FOUND',
  uploads: 'UPLOAD_NOT_FOUND',
  imports: 'IMPORT_NOT_FOUND',
  versions: 'VERSION_NOT_FOUND',
  comments: 'COMMENT_NOT_FOUND',
};

/** The route's bigint id params (their schema uses ID_PATTERN) and the code each answers when unknown. */
function bigintIdsOf(route: RouteOptions): [string, ErrorCode][] {
  const segments = route.url.split('/');
  return bigintIdParams(route.schema?.params).map((param) => {
    const at = segments.indexOf(`:${param}`);
    return [param, NOT_FOUND_BY_RESOURCE[segments[at - 1] ?? ''] ?? 'NOT_FOUND'];
  });
}

/** The body, at most `limit` bytes (413 JSON_TOO_LARGE past it, from Content-Length or while reading). */
async function readText(req: FastifyRequest, payload: Readable, limit: number): Promise<string> {
  const declared = req.headers['content-length'];
  try {
    return await getRawBody(payload, {
      limit,
      length: declared && !req.headers['content-encoding'] ? declared : undefined,
      encoding: 'utf8',
    });
  } catch (err) {
    const e = err as { type?: string; statusCode?: number };
    if (e.type === 'entity.too.large')
      throw new AppError('JSON_TOO_LARGE', `The JSON body is larger than this server accepts (${limit} bytes)`);
    if (e.type === 'request.size.invalid')
      throw new AppError('VALIDATION_FAILED', 'The body is not as long as its Content-Length says');
    throw Object.assign(err as Error, { statusCode: e.statusCode ?? 400 });
  }
}

function checkIds(req: FastifyRequest): void {
  const params = req.params as Record<string, string>;
  for (const [param, notFound] of req.routeOptions.config.bigintIds ?? []) {
    const value = params[param];
    if (value !== undefined && !isBigintId(value)) throw new AppError(notFound);
  }
}

function checkText(req: FastifyRequest): void {
  for (const [where, value] of [
    ['params', req.params],
    ['querystring', req.query],
    ['body', req.body],
  ] as const) {
    const field = findUnstorableText(value);
    if (field !== undefined) throw invalidText(field, where);
  }
}

export const inputGuard = fp(async (app: FastifyInstance) => {
  const jsonParse = app.getDefaultJsonParser(
    app.initialConfig.onProtoPoisoning ?? 'error',
    app.initialConfig.onConstructorPoisoning ?? 'error',
  );
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', async (req: FastifyRequest, payload: Readable) => {
    const text = await readText(req, payload, req.routeOptions.bodyLimit ?? app.initialConfig.bodyLimit ?? 1 << 20);
    if (jsonDepthExceeds(text, MAX_JSON_DEPTH))
      throw new AppError('JSON_TOO_DEEP', `The JSON body is nested deeper than ${MAX_JSON_DEPTH} levels`);
    return new Promise((resolve, reject) => {
      jsonParse(req, text, (err, body) => (err ? reject(err) : resolve(body)));
    });
  });
  app.addHook('onRoute', (route) => {
    const bigintIds = bigintIdsOf(route);
    if (bigintIds.length > 0) route.config = { ...route.config, bigintIds };
  });
  app.addHook('preValidation', async (req) => {
    checkIds(req);
    checkText(req);
  });
});
