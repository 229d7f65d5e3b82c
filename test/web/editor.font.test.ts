/**
 * The editor's text font served by the web plugin (GET /fonts/DejaVuSans.ttf): the system's DejaVu Sans
 * (the render's drawtext font) with a long cache, and a JSON 404 when it is not installed (the preview
 * then falls back to sans-serif).
 */
import Fastify from 'fastify';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEJAVU_SANS, webPlugin } from '../../src/server/web/web.plugin.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-font-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

async function app(fontFile?: string) {
  const a = Fastify();
  await a.register(webPlugin, { root, ...(fontFile ? { fontFile } : {}) });
  await a.ready();
  return a;
}

describe('GET /fonts/DejaVuSans.ttf', () => {
  // npm test installs fonts-dejavu-core (scripts/test.sh): the font is there, and this must not skip
  it('serves the system DejaVu Sans as font/ttf, cached', async () => {
    const a = await app();
    const res = await a.inject({ url: '/fonts/DejaVuSans.ttf' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^font\/ttf/);
    expect(res.headers['cache-control']).toBe('public, max-age=604800');
    expect(res.rawPayload.equals(fs.readFileSync(DEJAVU_SANS))).toBe(true);
    await a.close();
  });
  it('answers a JSON 404 when the font is not installed', async () => {
    const a = await app(path.join(root, 'missing', 'DejaVuSans.ttf'));
    const res = await a.inject({ url: '/fonts/DejaVuSans.ttf' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'NOT_FOUND' });
    await a.close();
  });
});
