/**
 * Builds the browser app when dist/web is missing or stale, so `npm install && npm start` is all it takes.
 *
 * Stale = the fingerprint (sha256 over src/web/**, vite.config.ts, tsconfig.web.json, package-lock.json)
 * differs from the one in dist/web/.build-stamp. The build goes into a temporary directory beside
 * dist/web, gets its stamp, and is then swapped in by rename, so a crash or a failed build halfway
 * leaves the previous build (or none) intact, never half of one; leftover temporary directories are
 * removed by the next build. A lock file makes a second process starting at the same time wait for the
 * first build instead of doing it again; if the lock is ever broken wrongly, the two builds still each
 * write their own directory and the swap keeps exactly one of them (they are the same bytes).
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import type { Logger } from '../logger.js';
import { pidAlive } from '../pid.js';

/** The repository root (this file is src/server/web/build.ts). */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const STAMP_FILE = '.build-stamp';
const INPUT_FILES = ['vite.config.ts', 'tsconfig.web.json', 'package-lock.json'];
const INPUT_DIR = 'src/web';
/** A lock not touched for this long belongs to a process that is gone (even if its pid was reused). */
const LOCK_STALE_MS = 60_000;
const LOCK_TOUCH_MS = 5_000;

export interface WebBuildOptions {
  logger: Logger;
  /** Project root holding src/web and vite.config.ts; default: this package. */
  root?: string;
  /** Where the built app goes; default `<root>/dist/web`. */
  outDir?: string;
  /** Build even when the stamp matches. */
  force?: boolean;
  /** How long to wait for another process's build (default 10 min). */
  lockWaitMs?: number;
}

export interface WebBuildResult {
  built: boolean;
  fingerprint: string;
  outDir: string;
  durationMs: number;
}

export interface BuildStamp {
  fingerprint: string;
  builtAt: string;
  durationMs: number;
  vite: string;
}

export function defaultOutDir(root = PACKAGE_ROOT): string {
  return path.join(root, 'dist', 'web');
}

async function listFiles(dir: string): Promise<string[]> {
  let entries: fs.Dirent[];
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: string[] = [];
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** sha256 over the relative path and the bytes of every input, in a fixed order. */
export async function webFingerprint(root = PACKAGE_ROOT): Promise<string> {
  const hash = createHash('sha256');
  const files = [...(await listFiles(path.join(root, INPUT_DIR))), ...INPUT_FILES.map((f) => path.join(root, f))];
  const rels = files.map((f) => path.relative(root, f).split(path.sep).join('/')).sort();
  for (const rel of rels) {
    let bytes: Buffer | null;
    try {
      bytes = await fsp.readFile(path.join(root, rel));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      bytes = null; // a missing optional input (no package-lock.json) is part of the fingerprint too
    }
    hash.update(`${rel}\0${bytes ? bytes.length : -1}\0`);
    if (bytes) hash.update(bytes);
  }
  return hash.digest('hex');
}

export async function readStamp(outDir: string): Promise<BuildStamp | undefined> {
  try {
    return JSON.parse(await fsp.readFile(path.join(outDir, STAMP_FILE), 'utf8')) as BuildStamp;
  } catch {
    return undefined;
  }
}

/** Is the build in outDir made from the current sources? Missing or unreadable stamp = stale. */
export async function isWebBuildFresh(
  root = PACKAGE_ROOT,
  outDir = defaultOutDir(root),
): Promise<{ fresh: boolean; fingerprint: string }> {
  const fingerprint = await webFingerprint(root);
  const stamp = await readStamp(outDir);
  return { fresh: stamp?.fingerprint === fingerprint && fs.existsSync(path.join(outDir, 'index.html')), fingerprint };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Takes the build lock (an O_EXCL file holding our pid); returns its release function. */
async function acquireLock(lockPath: string, waitMs: number, logger: Logger): Promise<() => Promise<void>> {
  const deadline = Date.now() + waitMs;
  let announced = false;
  for (;;) {
    try {
      await fsp.writeFile(
        lockPath,
        JSON.stringify({ pid: process.pid, host: os.hostname(), at: new Date().toISOString() }),
        { flag: 'wx' },
      );
      const touch = setInterval(() => {
        const now = new Date();
        fsp.utimes(lockPath, now, now).catch(() => undefined);
      }, LOCK_TOUCH_MS);
      touch.unref();
      return async () => {
        clearInterval(touch);
        await fsp.rm(lockPath, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let holder: { pid?: number; host?: string } = {};
    let mtimeMs = 0;
    try {
      holder = JSON.parse(await fsp.readFile(lockPath, 'utf8')) as typeof holder;
      mtimeMs = (await fsp.stat(lockPath)).mtimeMs;
    } catch {
      // Released, or being written right now: look again.
      await sleep(50);
      continue;
    }
    const sameHost = holder.host === undefined || holder.host === os.hostname();
    const stale =
      Date.now() - mtimeMs > LOCK_STALE_MS || (sameHost && typeof holder.pid === 'number' && !pidAlive(holder.pid));
    if (stale) {
      logger.warn({ lock: lockPath, holder }, 'removing a web build lock left by a process that is gone');
      await fsp.rm(lockPath, { force: true });
      continue;
    }
    if (Date.now() > deadline)
      throw new Error(
        `another process (pid ${holder.pid}) has been building the web app for too long; ` +
          `remove ${lockPath} if it is gone`,
      );
    if (!announced) {
      logger.info({ pid: holder.pid }, 'another process is building the web app; waiting for it');
      announced = true;
    }
    await sleep(250);
  }
}

/** Replaces outDir with builtDir; never leaves outDir half-written. */
async function swapIn(builtDir: string, outDir: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const old = `${outDir}.old-${randomBytes(4).toString('hex')}`;
    try {
      await fsp.rename(outDir, old);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    try {
      await fsp.rename(builtDir, outDir);
      await fsp.rm(old, { recursive: true, force: true });
      return;
    } catch (err) {
      // Someone else swapped their (identical) build in between our two renames: try again.
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || attempt >= 5) throw err;
    }
  }
}

async function removeLeftovers(outDir: string): Promise<void> {
  const parent = path.dirname(outDir);
  const base = path.basename(outDir);
  const entries = await fsp.readdir(parent).catch(() => [] as string[]);
  await Promise.all(
    entries
      .filter((e) => e.startsWith(`${base}.tmp-`) || e.startsWith(`${base}.old-`))
      .filter((e) => {
        // A temporary directory of a live build elsewhere is not a leftover (pid is in its name).
        const pid = Number(/\.tmp-(\d+)-/.exec(e)?.[1]);
        return !(pid && pid !== process.pid && pidAlive(pid));
      })
      .map((e) => fsp.rm(path.join(parent, e), { recursive: true, force: true })),
  );
}

/** Runs Vite's build() into a fresh directory and stamps it. NODE_ENV is production for the build only. */
async function runViteBuild(root: string, tmpDir: string, fingerprint: string, logger: Logger): Promise<number> {
  const vite = await import('vite');
  const started = performance.now();
  const savedNodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  const clean = (msg: string) => stripVTControlCharacters(msg).trim();
  const viteLogger = {
    hasWarned: false,
    info: (msg: string) => logger.debug({ vite: clean(msg) }, 'vite'),
    warn: (msg: string) => {
      viteLogger.hasWarned = true;
      logger.warn({ vite: clean(msg) }, 'vite warning');
    },
    warnOnce: (msg: string) => viteLogger.warn(msg),
    error: (msg: string) => logger.error({ vite: clean(msg) }, 'vite error'),
    clearScreen: () => undefined,
    hasErrorLogged: () => false,
  };
  try {
    await vite.build({
      configFile: path.join(root, 'vite.config.ts'),
      root: path.join(root, INPUT_DIR),
      mode: 'production',
      logLevel: 'warn',
      customLogger: viteLogger,
      build: { outDir: tmpDir, emptyOutDir: true },
    });
  } finally {
    if (savedNodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = savedNodeEnv;
  }
  const durationMs = Math.round(performance.now() - started);
  const stamp: BuildStamp = { fingerprint, builtAt: new Date().toISOString(), durationMs, vite: vite.version };
  await fsp.writeFile(path.join(tmpDir, STAMP_FILE), `${JSON.stringify(stamp, null, 2)}\n`);
  return durationMs;
}

/**
 * Makes sure outDir holds a build of the current sources; builds when it does not (or when forced).
 * Throws when the build fails (the previous build, if any, stays in place).
 */
export async function ensureWebBuild(opts: WebBuildOptions): Promise<WebBuildResult> {
  const root = opts.root ?? PACKAGE_ROOT;
  const outDir = opts.outDir ?? defaultOutDir(root);
  const { logger } = opts;
  const started = performance.now();
  let check = await isWebBuildFresh(root, outDir);
  if (check.fresh && !opts.force) {
    logger.debug({ outDir, fingerprint: check.fingerprint.slice(0, 12) }, 'web app build is up to date');
    return { built: false, fingerprint: check.fingerprint, outDir, durationMs: 0 };
  }
  await fsp.mkdir(path.dirname(outDir), { recursive: true });
  const release = await acquireLock(`${outDir}.lock`, opts.lockWaitMs ?? 600_000, logger);
  try {
    // Whoever held the lock before us may have just built exactly this.
    check = await isWebBuildFresh(root, outDir);
    if (check.fresh && !opts.force) {
      logger.info({ outDir }, 'web app was built by another process');
      return {
        built: false,
        fingerprint: check.fingerprint,
        outDir,
        durationMs: Math.round(performance.now() - started),
      };
    }
    await removeLeftovers(outDir);
    const reason = opts.force
      ? 'forced'
      : fs.existsSync(path.join(outDir, 'index.html'))
        ? 'sources changed'
        : 'no build yet';
    logger.info({ outDir, reason }, 'building the web app');
    const tmpDir = `${outDir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      const durationMs = await runViteBuild(root, tmpDir, check.fingerprint, logger);
      // Sources edited during the build: this build is already stale; keep it anyway (better than
      // none) but stamp it with what it was built from, so the next start builds again.
      await swapIn(tmpDir, outDir);
      logger.info(
        { outDir, durationMs, fingerprint: check.fingerprint.slice(0, 12) },
        `web app built in ${(durationMs / 1000).toFixed(1)} s`,
      );
      return { built: true, fingerprint: check.fingerprint, outDir, durationMs };
    } catch (err) {
      await fsp.rm(tmpDir, { recursive: true, force: true });
      throw err;
    }
  } finally {
    await release();
  }
}
