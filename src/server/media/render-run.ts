/**
 * Runs a render (render.ts builds the command): the texts go to files drawtext reads verbatim, ffmpeg
 * reports its position on stdout (`-progress pipe:1`), and a failure keeps ffmpeg's last error lines
 * without any path of this server in them (they end up in the API as the version's error).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { EditState } from '../../shared/edits.js';
import type { MediaTools } from './ffmpeg.js';
import { DEFAULT_FONT_FILE, type RenderOutput, type RenderSource, renderPlan } from './render.js';

/** A render that could not run or that ffmpeg refused; the message is safe to show to the user. */
export class RenderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RenderError';
  }
}

export interface RenderOptions {
  /** 0..1 of the output's length, at most every few hundred ms (ffmpeg's progress period). */
  onProgress?: (fraction: number) => void;
  fontFile?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Where the text files go (a fresh directory under it, removed after). */
  tmpDir?: string;
}

const STDERR_KEEP = 16 * 1024;
/** Longer than any render of a recording within the upload limit on a slow machine. */
const RENDER_TIMEOUT_MS = 6 * 3_600_000;
const ERROR_LINES = 5;
const ERROR_CHARS = 1000;

/** ffmpeg's last lines, with every absolute path replaced: a server's layout is nobody's business. */
export function cleanFfmpegError(stderr: string, paths: readonly string[]): string {
  let text = stderr;
  for (const p of [...paths].sort((a, b) => b.length - a.length)) if (p) text = text.split(p).join('…');
  text = text.replace(/(?:file:)?\/[^\s'",:]+/g, '…').replace(/(?:file:)?…+/g, '…');
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.slice(-ERROR_LINES).join(' | ').slice(0, ERROR_CHARS) || 'ffmpeg failed without a message';
}

/** Reads `out_time_us=` lines (the key is out_time_us; older ffmpeg also wrote the same as out_time_ms). */
function progressReader(seconds: number, onProgress: (fraction: number) => void) {
  let rest = '';
  return (chunk: Buffer) => {
    const lines = (rest + chunk.toString('utf8')).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      const m = /^out_time_us=(\d+)/.exec(line.trim());
      if (m && seconds > 0) onProgress(Math.min(1, Number(m[1]) / 1e6 / seconds));
    }
  };
}

/**
 * Renders `state` from `source` into `outputFile` (which the caller then stores). Throws RenderError on a
 * missing font (with texts), a timeout, or ffmpeg's refusal; the source is only ever read.
 */
export async function renderToFile(
  state: EditState,
  source: RenderSource,
  durationSeconds: number,
  outputFile: string,
  tools: MediaTools,
  opts: RenderOptions = {},
): Promise<RenderOutput> {
  const fontFile = opts.fontFile ?? DEFAULT_FONT_FILE;
  if (state.texts.length > 0) {
    try {
      await fs.access(fontFile);
    } catch {
      throw new RenderError(
        'The text font (DejaVu Sans) is not installed on the server: install fonts-dejavu-core to render texts',
      );
    }
  }
  const dir = await fs.mkdtemp(path.join(opts.tmpDir ?? os.tmpdir(), 'render-'));
  try {
    const textFiles = await Promise.all(
      state.texts.map(async (t, i) => {
        const file = path.join(dir, `text-${i}.txt`);
        await fs.writeFile(file, t.text, 'utf8');
        return file;
      }),
    );
    const plan = renderPlan(state, source, durationSeconds, outputFile, { fontFile, textFiles });
    const stderr = await run(tools.ffmpeg, plan.args, plan.seconds, opts);
    if (stderr !== undefined) {
      throw new RenderError(cleanFfmpegError(stderr, [source.file, outputFile, dir, fontFile]));
    }
    opts.onProgress?.(1);
    return plan.output;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Runs ffmpeg; undefined when it succeeded, else the tail of its stderr (or why it did not run). */
function run(command: string, args: string[], seconds: number, opts: RenderOptions): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], signal: opts.signal, windowsHide: true });
    let stderr = '';
    let timedOut = false;
    if (opts.onProgress) child.stdout.on('data', progressReader(seconds, opts.onProgress));
    else child.stdout.resume();
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-STDERR_KEEP);
    });
    const stop = () => {
      timedOut = true;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(stop, opts.timeoutMs ?? RENDER_TIMEOUT_MS);
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(e.code === 'ENOENT' ? 'ffmpeg is not installed on the server' : e.message);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) resolve(`${stderr}\nthe render took longer than allowed and was stopped`);
      else if (code === 0) resolve(undefined);
      else resolve(stderr || `ffmpeg ${signal ? `was killed (${signal})` : `exited with code ${code}`}`);
    });
  });
}
