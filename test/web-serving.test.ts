/**
 * The web app's build-on-start and serving: a real Vite build of a small app made with the real
 * vite.config.ts (React via oxc's automatic JSX runtime, the pdf.js worker as an asset), the
 * fingerprint that decides staleness, two processes building at once, and the Fastify plugin that
 * serves the result (cache policy, SPA fallback, security headers, 503 without a build).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/server/app.js';
import { createLogger } from '../src/server/logger.js';
import {
  PACKAGE_ROOT,
  STAMP_FILE,
  ensureWebBuild,
  isWebBuildFresh,
  readStamp,
  webFingerprint,
} from '../src/server/web/build.js';
import { IMMUTABLE, webPlugin } from '../src/server/web/web.plugin.js';

const run = promisify(execFile);
const logger = createLogger('silent');

/** A project root with the real vite.config.ts and a small React app that uses the pdf.js worker URL. */
function makeFixture(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-webbuild-'));
  fs.symlinkSync(path.join(PACKAGE_ROOT, 'node_modules'), path.join(root, 'node_modules'));
  fs.copyFileSync(path.join(PACKAGE_ROOT, 'vite.config.ts'), path.join(root, 'vite.config.ts'));
  fs.copyFileSync(path.join(PACKAGE_ROOT, 'tsconfig.web.json'), path.join(root, 'tsconfig.web.json'));
  fs.writeFileSync(path.join(root, 'package.json'), '{"type":"module","private":true}\n');
  fs.writeFileSync(path.join(root, 'package-lock.json'), '{"lockfileVersion":3}\n');
  fs.mkdirSync(path.join(root, 'src/web/app'), { recursive: true });
  fs.copyFileSync(path.join(PACKAGE_ROOT, 'src/web/index.html'), path.join(root, 'src/web/index.html'));
  fs.writeFileSync(
    path.join(root, 'src/web/app/main.tsx'),
    `import { createRoot } from 'react-dom/client';
import workerUrl from 'pdfjs-dist/build/pdf.worker.min.mjs?url';
import './styles.css';
function App() { return <main data-worker={workerUrl}><h1>fixture</h1></main>; }
createRoot(document.getElementById('root')!).render(<App />);
`,
  );
  fs.writeFileSync(path.join(root, 'src/web/app/styles.css'), 'body { margin: 0 }\n');
  return root;
}

let fixture: string;
let outDir: string;

beforeAll(() => {
  fixture = makeFixture();
  outDir = path.join(fixture, 'dist/web');
});
afterAll(() => {
  fs.rmSync(fixture, { recursive: true, force: true });
});

describe('web build', () => {
  it('fingerprints every input and nothing else', async () => {
    const a = await webFingerprint(fixture);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(await webFingerprint(fixture)).toBe(a);
    fs.mkdirSync(path.join(fixture, 'dist/web'), { recursive: true });
    fs.writeFileSync(path.join(fixture, 'dist/web/junk.txt'), 'output is not an input');
    expect(await webFingerprint(fixture)).toBe(a);
    fs.rmSync(path.join(fixture, 'dist'), { recursive: true });

    const css = path.join(fixture, 'src/web/app/styles.css');
    fs.appendFileSync(css, '/* edit */\n');
    const b = await webFingerprint(fixture);
    expect(b).not.toBe(a);
    fs.writeFileSync(css, 'body { margin: 0 }\n');
    expect(await webFingerprint(fixture)).toBe(a);

    fs.appendFileSync(path.join(fixture, 'package-lock.json'), ' ');
    expect(await webFingerprint(fixture)).not.toBe(a);
    fs.writeFileSync(path.join(fixture, 'package-lock.json'), '{"lockfileVersion":3}\n');
    // A new file counts, even an empty one; renaming a file counts.
    fs.writeFileSync(path.join(fixture, 'src/web/app/empty.ts'), '');
    const c = await webFingerprint(fixture);
    expect(c).not.toBe(a);
    fs.renameSync(path.join(fixture, 'src/web/app/empty.ts'), path.join(fixture, 'src/web/app/other.ts'));
    expect(await webFingerprint(fixture)).not.toBe(c);
    fs.rmSync(path.join(fixture, 'src/web/app/other.ts'));
    expect(await webFingerprint(fixture)).toBe(a);
  });

  it('builds a missing app with the real config, stamps it, and skips an up-to-date one', async () => {
    expect((await isWebBuildFresh(fixture, outDir)).fresh).toBe(false);
    const first = await ensureWebBuild({ logger, root: fixture, outDir });
    expect(first.built).toBe(true);
    expect(first.durationMs).toBeGreaterThan(0);

    const html = fs.readFileSync(path.join(outDir, 'index.html'), 'utf8');
    const scripts = [...html.matchAll(/src="\/assets\/([^"]+\.js)"/g)].map((m) => m[1]);
    expect(scripts.length).toBe(1);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script: the CSP forbids them
    const assets = fs.readdirSync(path.join(outDir, 'assets'));
    expect(assets.some((f) => /^pdf\.worker\.min-[\w-]+\.mjs$/.test(f))).toBe(true);
    expect(assets.some((f) => f.endsWith('.js.map'))).toBe(true); // sourcemaps
    expect(assets.some((f) => f.endsWith('.css'))).toBe(true);
    expect(assets.some((f) => /^react-[\w-]+\.js$/.test(f))).toBe(true); // React in its own chunk
    const code = assets
      .filter((f) => f.endsWith('.js'))
      .map((f) => fs.readFileSync(path.join(outDir, 'assets', f), 'utf8'))
      .join('\n');
    expect(code).toContain('pdf.worker.min-'); // the worker URL made it into the code
    expect(code).not.toContain('jsxDEV'); // production JSX, though vitest runs with NODE_ENV=test

    const stamp = await readStamp(outDir);
    expect(stamp?.fingerprint).toBe(first.fingerprint);
    expect(stamp?.vite).toMatch(/^8\./);
    const second = await ensureWebBuild({ logger, root: fixture, outDir });
    expect(second).toMatchObject({ built: false, fingerprint: first.fingerprint });
  });

  it(
    'rebuilds when a source changes, removes leftovers of a crashed build, ' +
      'and keeps the old build when the new one fails',
    async () => {
      const before = (await readStamp(outDir))!.fingerprint;
      fs.mkdirSync(`${outDir}.tmp-999999-deadbeef/assets`, { recursive: true }); // a build killed halfway
      fs.writeFileSync(path.join(fixture, 'src/web/app/styles.css'), 'body { margin: 1px }\n');
      const rebuilt = await ensureWebBuild({ logger, root: fixture, outDir });
      expect(rebuilt.built).toBe(true);
      expect(rebuilt.fingerprint).not.toBe(before);
      expect(fs.existsSync(`${outDir}.tmp-999999-deadbeef`)).toBe(false);
      expect(fs.readdirSync(path.dirname(outDir)).sort()).toEqual(['web']);

      fs.writeFileSync(path.join(fixture, 'src/web/app/broken.ts'), 'import "./does-not-exist.ts";\n');
      fs.appendFileSync(path.join(fixture, 'src/web/app/main.tsx'), 'import "./broken.ts";\n');
      await expect(ensureWebBuild({ logger, root: fixture, outDir })).rejects.toThrow(/does-not-exist/);
      expect((await readStamp(outDir))!.fingerprint).toBe(rebuilt.fingerprint); // previous build intact
      expect(fs.readdirSync(path.dirname(outDir)).sort()).toEqual(['web']); // no temp dir, no lock left
      const main = fs.readFileSync(path.join(fixture, 'src/web/app/main.tsx'), 'utf8');
      fs.writeFileSync(path.join(fixture, 'src/web/app/main.tsx'), main.replace('import "./broken.ts";\n', ''));
      fs.rmSync(path.join(fixture, 'src/web/app/broken.ts'));
      expect((await isWebBuildFresh(fixture, outDir)).fresh).toBe(true);
    },
  );

  it('two processes starting at once build once, and neither sees a half-written build', async () => {
    fs.writeFileSync(path.join(fixture, 'src/web/app/styles.css'), 'body { margin: 2px }\n');
    const script = `
      import { ensureWebBuild } from ${JSON.stringify(path.join(PACKAGE_ROOT, 'src/server/web/build.ts'))};
      import { createLogger } from ${JSON.stringify(path.join(PACKAGE_ROOT, 'src/server/logger.ts'))};
      const r = await ensureWebBuild({
        logger: createLogger('silent'),
        root: ${JSON.stringify(fixture)},
        outDir: ${JSON.stringify(outDir)},
      });
      console.log(JSON.stringify(r));`;
    const tsx = path.join(PACKAGE_ROOT, 'node_modules/.bin/tsx');
    const file = path.join(fixture, 'build-once.mts');
    fs.writeFileSync(file, script);
    // Hold the lock ourselves until both processes are up and waiting for it, so they really contend.
    const lock = `${outDir}.lock`;
    fs.writeFileSync(lock, JSON.stringify({ pid: process.pid, host: os.hostname(), at: new Date().toISOString() }));
    const children = Promise.all([0, 1].map(() => run(tsx, [file], { cwd: fixture })));
    await new Promise((r) => setTimeout(r, 4000));
    fs.rmSync(lock);
    const results = await children;
    fs.rmSync(file);
    const parsed = results.map(
      (r) =>
        JSON.parse(r.stdout.trim().split('\n').pop()!) as { built: boolean; fingerprint: string; durationMs: number },
    );
    expect(parsed.map((p) => p.built).sort()).toEqual([false, true]);
    // The one that did not build waited for the other (a fresh stamp at the first look would be 0 ms).
    expect(parsed.find((p) => !p.built)!.durationMs).toBeGreaterThan(0);
    expect(parsed[0]!.fingerprint).toBe(parsed[1]!.fingerprint);
    expect((await isWebBuildFresh(fixture, outDir)).fresh).toBe(true);
    expect(fs.readdirSync(path.dirname(outDir)).sort()).toEqual(['web']);
  });

  it('breaks a lock left by a process that is gone', async () => {
    fs.writeFileSync(
      `${outDir}.lock`,
      JSON.stringify({ pid: 999_999, host: os.hostname(), at: new Date().toISOString() }),
    );
    const r = await ensureWebBuild({ logger, root: fixture, outDir, force: true, lockWaitMs: 5_000 });
    expect(r.built).toBe(true);
    expect(fs.existsSync(`${outDir}.lock`)).toBe(false);
  });
});

describe('serving the built app', () => {
  let app: FastifyInstance;
  let assetJs: string;

  beforeAll(async () => {
    if (!fs.existsSync(path.join(outDir, 'index.html'))) await ensureWebBuild({ logger, root: fixture, outDir });
    assetJs = fs.readdirSync(path.join(outDir, 'assets')).find((f) => f.endsWith('.js') && f.startsWith('index-'))!;
    app = Fastify();
    app.setNotFoundHandler((req, reply) =>
      reply.status(404).send({ code: 'ROUTE_NOT_FOUND', message: `No route ${req.method} ${req.url}` }),
    );
    app.get('/api/known', async () => ({ ok: true }));
    app.get('/health', async () => ({ status: 'ok' }));
    await app.register(webPlugin, { root: outDir, mediaOrigins: ['https://cdn.example.com/media/'] });
    await app.ready();
  });
  afterAll(async () => app?.close());

  it('serves index.html at / and for every app route, never cached, with security headers', async () => {
    for (const url of ['/', '/record', '/recordings/12', '/local/abc?x=1', '/projects/p1']) {
      const res = await app.inject({ url, headers: { accept: 'text/html' } });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.body).toContain('<div id="root"></div>');
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('same-origin');
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain("'unsafe-eval'");
      expect(csp).toContain("worker-src 'self' blob:");
      expect(csp).toContain("media-src 'self' blob: data: https://cdn.example.com");
      expect(csp).toContain("img-src 'self' blob: data: https://cdn.example.com");
      expect(csp).toContain("frame-ancestors 'none'");
    }
    const head = await app.inject({ method: 'HEAD', url: '/recordings/12' });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-type']).toMatch(/^text\/html/);
    expect(head.body).toBe('');
  });

  it('serves hashed assets immutable for a year, with their own types, and revalidates index.html', async () => {
    const js = await app.inject({ url: `/assets/${assetJs}` });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toMatch(/javascript/);
    expect(js.headers['cache-control']).toBe(IMMUTABLE);
    expect(js.headers['x-content-type-options']).toBe('nosniff');
    expect(js.headers['content-security-policy']).toBeUndefined();
    const worker = fs.readdirSync(path.join(outDir, 'assets')).find((f) => f.startsWith('pdf.worker'))!;
    const w = await app.inject({ url: `/assets/${worker}` });
    expect(w.statusCode).toBe(200);
    expect(w.headers['content-type']).toMatch(/javascript/);
    const first = await app.inject({ url: '/' });
    const again = await app.inject({ url: '/', headers: { 'if-none-match': String(first.headers.etag) } });
    expect(again.statusCode).toBe(304);
  });

  it('keeps JSON 404s for the API, health, missing assets and paths outside the build', async () => {
    const api = await app.inject({ url: '/api/nope' });
    expect(api.statusCode).toBe(404);
    expect(api.json()).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
    expect((await app.inject({ url: '/api/known' })).json()).toEqual({ ok: true });
    expect((await app.inject({ url: '/health/x' })).json()).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
    expect((await app.inject({ url: '/ready' })).json()).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
    const asset = await app.inject({ url: '/assets/index-gone.js' });
    expect(asset.statusCode).toBe(404);
    expect(asset.json()).toMatchObject({ code: 'NOT_FOUND' });
    expect((await app.inject({ method: 'POST', url: '/record' })).statusCode).toBe(404);
    // Neither the build stamp (a dotfile) nor anything outside dist/web is served as a file.
    for (const url of [
      '/.build-stamp',
      '/..%2f..%2fpackage.json',
      '/assets/..%2f..%2f..%2fvite.config.ts',
      '/%2e%2e/%2e%2e/vite.config.ts',
    ]) {
      const res = await app.inject({ url });
      expect(res.body, url).not.toContain('fingerprint');
      expect(res.body, url).not.toContain('defineConfig');
    }
    expect(fs.existsSync(path.join(outDir, STAMP_FILE))).toBe(true);
  });

  it('answers 503 with how to build when there is no build', async () => {
    const bare = Fastify();
    await bare.register(webPlugin, { root: path.join(fixture, 'nothing-here') });
    const html = await bare.inject({ url: '/record', headers: { accept: 'text/html,application/xhtml+xml' } });
    expect(html.statusCode).toBe(503);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.body).toContain('npm run build:web');
    expect(html.headers['content-security-policy']).toBeDefined();
    const json = await bare.inject({ url: '/' });
    expect(json.statusCode).toBe(503);
    expect(json.json()).toMatchObject({ code: 'NOT_READY', message: expect.stringContaining('npm run build:web') });
    await bare.close();
  });
});

describe('the app as the server builds it', () => {
  it('routes the browser app beside the API without shadowing the catalogue 404 or the API docs', async () => {
    const app = await buildApp({ logger, probe: { pendingMigrations: async () => 0 } });
    const built = fs.existsSync(path.join(PACKAGE_ROOT, 'dist/web/index.html'));
    const page = await app.inject({ url: '/recordings/1', headers: { accept: 'text/html' } });
    expect(page.statusCode).toBe(built ? 200 : 503);
    expect(page.headers['content-security-policy']).toBeDefined();
    const api = await app.inject({ url: '/api/does-not-exist' });
    expect(api.statusCode).toBe(404);
    expect(api.json()).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
    expect((await app.inject({ url: '/health' })).json()).toEqual({ status: 'ok' });
    expect((await app.inject({ url: '/api/openapi.json' })).statusCode).toBe(200);
    const docs = await app.inject({ url: '/api/docs' });
    expect([200, 302]).toContain(docs.statusCode);
    await app.close();
  });
});
