/**
 * Serves the built browser app (dist/web) at `/`.
 *
 * - /assets/* are content-hashed by Vite: cached for a year, immutable.
 * - index.html is revalidated on every load (`no-cache`), so a new build reaches users at once.
 * - Any other GET/HEAD path that is not a file (/record, /recordings/12) answers index.html: the app's
 *   own router takes it from there. /api/*, /health and /ready keep the JSON 404 of the error catalogue,
 *   and so does a missing /assets file (an HTML page served as a script only hides the real problem).
 * - Without a build, `/` answers 503 saying how to build it, instead of a bare 404.
 * - /fonts/DejaVuSans.ttf is the system's DejaVu Sans (the render's font) for the editor's preview, cached
 *   for a week; 404 when the package is not installed (the preview falls back to sans-serif).
 */
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { defaultOutDir } from './build.js';

export interface WebPluginOptions {
  /** The built app; default `<package>/dist/web`. */
  root?: string;
  /** Extra origins media and thumbnails may come from (a CDN_BASE_URL origin), for the CSP. */
  mediaOrigins?: string[];
  /** The editor's text font (the one the render draws with); default Debian's DejaVu Sans. */
  fontFile?: string;
}

/** Debian's fonts-dejavu-core: the render's drawtext font, served so the editor's preview draws the same glyphs. */
export const DEJAVU_SANS = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';

export const IMMUTABLE = 'public, max-age=31536000, immutable';
const RESERVED = /^\/(api|health|ready)(\/|$)/;

/**
 * What the page may load. Media and thumbnails are same-origin (or the CDN), takes being reviewed are
 * blob: URLs, pdf.js runs its worker from our own origin. No inline scripts: Vite emits none.
 * Inline styles are allowed because React's `style` props and pdf.js's text layer set them.
 */
export function contentSecurityPolicy(mediaOrigins: string[] = []): string {
  const extra = mediaOrigins.map((o) => new URL(o).origin).join(' ');
  const media = `'self' blob: data:${extra ? ` ${extra}` : ''}`;
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    `img-src ${media}`,
    `media-src ${media}`,
    "font-src 'self' data:",
    "connect-src 'self' blob: data:",
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * The page's own headers. The CSP is sent from here only (helmet's is off: security-headers.ts), on
 * HTML, the one kind of answer a CSP governs. Referrer-Policy, X-Frame-Options and COOP repeat what
 * helmet sets on every answer, with the same values, so the plugin is whole on its own (tests mount it
 * without buildApp).
 */
export function htmlHeaders(reply: FastifyReply, csp: string): void {
  reply
    .header('content-security-policy', csp)
    .header('referrer-policy', 'same-origin')
    .header('x-frame-options', 'DENY')
    .header('cross-origin-opener-policy', 'same-origin')
    // The recorder asks for camera, microphone and screen; nobody embedding us may.
    .header('permissions-policy', 'camera=(self), microphone=(self), display-capture=(self)');
}

/** The file a URL path names inside root, or undefined when it names none (or tries to leave root). */
async function fileFor(root: string, urlPath: string): Promise<string | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const rel = path.posix.normalize(decoded).replace(/^\/+/, '');
  if (!rel || rel.startsWith('..') || rel.split('/').some((seg) => seg.startsWith('.'))) return undefined;
  try {
    const st = await fsp.stat(path.join(root, rel));
    return st.isFile() ? rel : undefined;
  } catch {
    return undefined;
  }
}

const notBuiltMessage =
  'The web app is not built. Run `npm run build:web` (or restart with `npm start`, which builds it) and reload.';
const notBuiltHtml =
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Recorder: not built</title></head>' +
  `<body><h1>Recorder</h1><p>${notBuiltMessage.replace(/`([^`]+)`/g, '<code>$1</code>')}</p></body></html>\n`;

function notBuilt(req: FastifyRequest, reply: FastifyReply, csp: string): FastifyReply {
  reply
    .status(503)
    .header('cache-control', 'no-store')
    .header('retry-after', '30')
    .header('x-content-type-options', 'nosniff');
  if (req.headers.accept?.includes('text/html')) {
    htmlHeaders(reply, csp);
    return reply.type('text/html; charset=utf-8').send(notBuiltHtml);
  }
  return reply.send({ code: 'NOT_READY', message: notBuiltMessage });
}

export async function webPlugin(app: FastifyInstance, opts: WebPluginOptions): Promise<void> {
  const root = opts.root ?? defaultOutDir();
  const csp = contentSecurityPolicy(opts.mediaOrigins);
  // serve: false: we route ourselves (SPA fallback, cache policy per file); the plugin gives sendFile.
  await app.register(fastifyStatic, { root, serve: false, suppressWarning: true });

  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const urlPath = req.url.split('?')[0] ?? '/';
    if (RESERVED.test(urlPath)) return reply.callNotFound();
    reply.header('x-content-type-options', 'nosniff');
    const file = await fileFor(root, urlPath);
    if (file && file !== 'index.html') {
      reply.header('cache-control', file.startsWith('assets/') ? IMMUTABLE : 'no-cache');
      return reply.sendFile(file, root, { cacheControl: false });
    }
    // A file under /assets that does not exist is a stale or broken reference, not a page.
    if (urlPath.startsWith('/assets/')) {
      return reply.status(404).send({ code: 'NOT_FOUND', message: `No such file ${urlPath}` });
    }
    if (!(await fileFor(root, '/index.html'))) return notBuilt(req, reply, csp);
    htmlHeaders(reply, csp);
    reply.header('cache-control', 'no-cache');
    return reply.sendFile('index.html', root, { cacheControl: false });
  };
  const fontFile = opts.fontFile ?? DEJAVU_SANS;
  app.get('/fonts/DejaVuSans.ttf', { schema: { hide: true } }, async (_req, reply) => {
    const st = await fsp.stat(fontFile).catch(() => undefined);
    if (!st?.isFile()) return reply.status(404).send({ code: 'NOT_FOUND', message: 'DejaVu Sans is not installed' });
    // Not immutable: the URL carries no hash, and a system upgrade may change the file.
    reply.header('cache-control', 'public, max-age=604800').header('x-content-type-options', 'nosniff');
    return reply.sendFile(path.basename(fontFile), path.dirname(fontFile), { cacheControl: false });
  });
  app.get('/', { schema: { hide: true } }, handler);
  app.get('/*', { schema: { hide: true } }, handler);
}
