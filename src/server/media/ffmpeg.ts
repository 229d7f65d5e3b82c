/**
 * Finding and running ffmpeg/ffprobe. The server runs without them: `detectTools` says what is missing
 * and which processing is skipped, so start-up can log it once instead of every job failing obscurely.
 * Processes are always spawned with an argument array (no shell), a timeout, and stderr kept for errors.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

/** Resolved command paths (absolute, or a bare name looked up on PATH). */
export interface MediaTools {
  ffmpeg: string;
  ffprobe: string;
}

export type ToolStatus =
  | { available: true; path: string; version: string }
  | { available: false; path: string; reason: string };

export interface ToolsReport {
  ffmpeg: ToolStatus;
  ffprobe: ToolStatus;
  /** Set only when both tools work. */
  tools: MediaTools | null;
  /** Human-readable processing that will not run, empty when nothing is skipped. */
  skipped: string[];
}

export type ToolFailure = 'missing' | 'timeout' | 'exit' | 'signal';

export class MediaToolError extends Error {
  constructor(
    readonly command: string,
    readonly args: readonly string[],
    readonly failure: ToolFailure,
    /** Last part of the process's stderr, for the message and logs. */
    readonly stderr: string,
    readonly exitCode: number | null = null,
  ) {
    const what = {
      missing: `not found or not executable`,
      timeout: `timed out`,
      exit: `exited with code ${exitCode}`,
      signal: `was killed by a signal`,
    }[failure];
    const tail = stderr.trim() ? `: ${stderr.trim().split('\n').slice(-5).join(' | ')}` : '';
    super(`${command} ${what}${tail}`);
    this.name = 'MediaToolError';
  }
}

/** Where the tools are: FFMPEG_PATH (ffprobe beside it unless FFPROBE_PATH), else the names on PATH. */
export function resolveTools(env: NodeJS.ProcessEnv = process.env): MediaTools {
  const ffmpeg = env.FFMPEG_PATH?.trim() || 'ffmpeg';
  let ffprobe = env.FFPROBE_PATH?.trim();
  if (!ffprobe) {
    // A bare command name means "on PATH", and so does its sibling.
    const hasDir = ffmpeg.includes('/') || ffmpeg.includes(path.sep);
    const exe = ffmpeg.toLowerCase().endsWith('.exe') ? '.exe' : '';
    ffprobe = hasDir ? path.join(path.dirname(ffmpeg), `ffprobe${exe}`) : 'ffprobe';
  }
  return { ffmpeg, ffprobe };
}

export async function detectTools(env: NodeJS.ProcessEnv = process.env): Promise<ToolsReport> {
  const paths = resolveTools(env);
  const [ffmpeg, ffprobe] = await Promise.all([
    toolStatus(paths.ffmpeg, 'ffmpeg'),
    toolStatus(paths.ffprobe, 'ffprobe'),
  ]);
  const skipped: string[] = [];
  if (!ffprobe.available) {
    skipped.push('codec, dimension and bitrate probing (durations are still measured, without ffprobe)');
  }
  if (!ffmpeg.available || !ffprobe.available) {
    skipped.push('fixing the missing duration of MediaRecorder WebM files (seeking in them stays limited)');
    skipped.push('thumbnails and audio waveform images');
  }
  return { ffmpeg, ffprobe, tools: ffmpeg.available && ffprobe.available ? paths : null, skipped };
}

/** One line for the start-up log. */
export function describeTools(report: ToolsReport): string {
  const one = (name: string, s: ToolStatus) =>
    s.available ? `${name} ${s.version} (${s.path})` : `${name} unavailable: ${s.reason}`;
  const skipped = report.skipped.length ? `; skipped: ${report.skipped.join('; ')}` : '';
  return `${one('ffmpeg', report.ffmpeg)}; ${one('ffprobe', report.ffprobe)}${skipped}`;
}

async function toolStatus(command: string, expected: string): Promise<ToolStatus> {
  try {
    const { stdout } = await runTool(command, ['-version'], { timeoutMs: 10_000 });
    const first = stdout.toString('utf8').split('\n')[0] ?? '';
    const m = /^(\S+) version (\S+)/.exec(first);
    if (!m || m[1] !== expected) {
      return {
        available: false,
        path: command,
        reason: `${command} -version does not look like ${expected}: "${first.slice(0, 80)}"`,
      };
    }
    return { available: true, path: command, version: m[2]! };
  } catch (e) {
    const reason =
      e instanceof MediaToolError && e.failure === 'missing'
        ? `${command} not found ` +
          '(set FFMPEG_PATH to ffmpeg, with ffprobe beside it or in FFPROBE_PATH, or install ffmpeg)'
        : (e as Error).message;
    return { available: false, path: command, reason };
  }
}

export interface RunOptions {
  timeoutMs: number;
  /** Keep stdout (ffprobe's JSON); ffmpeg writes its outputs to files and its stdout is discarded. */
  captureStdout?: boolean;
  signal?: AbortSignal;
}

const STDERR_KEEP = 16 * 1024;
const STDOUT_LIMIT = 16 * 1024 * 1024;

/** Runs a command to completion; rejects with MediaToolError on a missing command, timeout, signal or non-zero exit. */
export function runTool(
  command: string,
  args: readonly string[],
  opts: RunOptions,
): Promise<{ stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ['ignore', opts.captureStdout === false ? 'ignore' : 'pipe', 'pipe'],
      signal: opts.signal,
      windowsHide: true,
    });
    const out: Buffer[] = [];
    let outBytes = 0;
    let stderr = '';
    let failure: ToolFailure | undefined;
    child.stdout?.on('data', (d: Buffer) => {
      outBytes += d.length;
      if (outBytes <= STDOUT_LIMIT) out.push(d);
    });
    // Only the tail matters for error messages; a long decode can print a lot.
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-STDERR_KEEP);
    });
    const timer = setTimeout(() => {
      failure = 'timeout';
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const missing = e.code === 'ENOENT' || e.code === 'EACCES' || e.code === 'ENOTDIR';
      reject(new MediaToolError(command, args, missing ? 'missing' : 'exit', missing ? '' : e.message));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (failure) return reject(new MediaToolError(command, args, failure, stderr));
      if (signal) return reject(new MediaToolError(command, args, 'signal', stderr));
      if (code !== 0) return reject(new MediaToolError(command, args, 'exit', stderr, code));
      resolve({ stdout: Buffer.concat(out), stderr });
    });
  });
}

/** Arguments every ffmpeg run starts with: no prompts on stdin, errors only on stderr. */
export const FFMPEG_QUIET = ['-nostdin', '-hide_banner', '-loglevel', 'error'] as const;

/**
 * A path as ffmpeg should read it: the file: protocol, absolute, so a name starting with "-" is not an
 * option and one like "concat:…" or "http://…" is not another protocol.
 */
export function fileArg(file: string): string {
  return `file:${path.resolve(file)}`;
}
