/**
 * A recording's edit stack (an EditState, src/shared/edits.ts) as ONE ffmpeg command: a single filter graph
 * over the original, so the source is decoded once and every frame is encoded once. Pure: it builds
 * arguments, runs nothing (render-run.ts runs them). The live preview in the editor draws the same state;
 * docs/editor.md ("Render") says how each step maps so the two match.
 *
 * Video: crop → eq (brightness, contrast, saturation) → grayscale → sepia → blur → texts → the kept ranges.
 * Texts are drawn before the ranges are cut, so `between(t,from,to)` reads times of the original, as the
 * edits give them; they are drawn after the filters, as the preview draws them over the filtered video.
 * Audio: the kept ranges → denoise → gain (or mute) → fades on the output's timeline.
 */
import type { EditState, TextOverlayParams } from '../../shared/edits.js';
import { keptSeconds } from '../../shared/edits.js';
import { FFMPEG_QUIET, fileArg } from './ffmpeg.js';

/** Debian's DejaVu Sans (fonts-dejavu-core); the web font the editor serves is the same file. */
export const DEFAULT_FONT_FILE = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';

/** What the render needs to know of the original (from ffprobe). */
export interface RenderSource {
  file: string;
  hasVideo: boolean;
  hasAudio: boolean;
  /** The original's container family: mp4-like sources render to MP4, everything else to WebM. */
  family: 'mp4' | 'webm';
  /** The original's frame (null without video). */
  width: number | null;
  height: number | null;
}

export interface RenderOutput {
  /** The key's extension. */
  extension: 'webm' | 'mp4' | 'm4a';
  mimeType: string;
  format: 'webm' | 'mp4';
}

export interface RenderPlan {
  args: string[];
  output: RenderOutput;
  /** The output's expected length, for progress. */
  seconds: number;
}

export interface RenderPlanOptions {
  fontFile: string;
  /** Each text's file (drawtext reads it verbatim: no escaping of the user's text, ever), by index. */
  textFiles: readonly string[];
}

/** The output a source renders to: its own family, audio-only when it has no video. */
export function renderOutput(source: Pick<RenderSource, 'hasVideo' | 'family'>): RenderOutput {
  if (source.family === 'mp4') {
    return source.hasVideo
      ? { extension: 'mp4', mimeType: 'video/mp4', format: 'mp4' }
      : { extension: 'm4a', mimeType: 'audio/mp4', format: 'mp4' };
  }
  return { extension: 'webm', mimeType: source.hasVideo ? 'video/webm' : 'audio/webm', format: 'webm' };
}

/** Numbers as ffmpeg reads them: plain decimals, never exponent notation. */
const num = (value: number) => String(Number(value.toFixed(6)));

/** A filter option value quoted for the graph; only our own paths and numbers go through it. */
const quoted = (value: string) => `'${value.replace(/'/g, "'\\''")}'`;

/**
 * The CSS filter matrices (Filter Effects 1, feColorMatrix) for grayscale and sepia, blended by amount:
 * what the preview's canvas ctx.filter applies, so the render matches it.
 */
function cssMatrix(kind: 'grayscale' | 'sepia', amount: number): number[] {
  const k = 1 - amount;
  if (kind === 'grayscale') {
    return [
      0.2126 + 0.7874 * k,
      0.7152 - 0.7152 * k,
      0.0722 - 0.0722 * k,
      0.2126 - 0.2126 * k,
      0.7152 + 0.2848 * k,
      0.0722 - 0.0722 * k,
      0.2126 - 0.2126 * k,
      0.7152 - 0.7152 * k,
      0.0722 + 0.9278 * k,
    ];
  }
  return [
    0.393 + 0.607 * k,
    0.769 - 0.769 * k,
    0.189 - 0.189 * k,
    0.349 - 0.349 * k,
    0.686 + 0.314 * k,
    0.168 - 0.168 * k,
    0.272 - 0.272 * k,
    0.534 - 0.534 * k,
    0.131 + 0.869 * k,
  ];
}

function channelMixer(matrix: number[]): string {
  const names = ['rr', 'rg', 'rb', 'gr', 'gg', 'gb', 'br', 'bg', 'bb'];
  return `colorchannelmixer=${names.map((n, i) => `${n}=${num(matrix[i]!)}`).join(':')}`;
}

/** drawtext colours: 0xRRGGBB[AA]. */
const hex = (color: string) => `0x${color.slice(1)}`;

/** The frame the texts are placed on: the crop's, else the original's. */
interface Frame {
  width: number;
  height: number;
}

function drawText(text: TextOverlayParams, frame: Frame, textFile: string, fontFile: string): string {
  const px = (fraction: number, of: number) => Math.round(fraction * of);
  const fontSize = Math.max(1, px(text.size, frame.height));
  const options = [
    `fontfile=${quoted(fontFile)}`,
    `textfile=${quoted(textFile)}`,
    // the text is the user's: never expand %{…} in it
    'expansion=none',
    `fontcolor=${hex(text.color)}`,
    // size and position are fractions of the output (cropped) frame
    `fontsize=${fontSize}`,
    `x=${px(text.x, frame.width)}`,
    `y=${px(text.y, frame.height)}`,
    `enable='between(t,${num(text.from)},${num(text.to)})'`,
  ];
  if (text.background) {
    // padding a fifth of the font size: the same look at every resolution (preview-math.ts textBoxPadding)
    options.push('box=1', `boxcolor=${hex(text.background)}`, `boxborderw=${Math.max(1, Math.round(fontSize * 0.2))}`);
  }
  return `drawtext=${options.join(':')}`;
}

function videoFilters(state: EditState, source: Pick<RenderSource, 'width' | 'height'>, opts: RenderPlanOptions) {
  const filters: string[] = [];
  if (state.crop) {
    const { x, y, width, height } = state.crop;
    filters.push(`crop=${width}:${height}:${x}:${y}:exact=1`);
  }
  const f = state.filters;
  const eq: string[] = [];
  if (f.brightness !== undefined) eq.push(`brightness=${num(f.brightness)}`);
  if (f.contrast !== undefined) eq.push(`contrast=${num(f.contrast)}`);
  if (f.saturation !== undefined) eq.push(`saturation=${num(f.saturation)}`);
  if (eq.length) filters.push(`eq=${eq.join(':')}`);
  if (f.grayscale !== undefined) filters.push(channelMixer(cssMatrix('grayscale', f.grayscale)));
  if (f.sepia !== undefined) filters.push(channelMixer(cssMatrix('sepia', f.sepia)));
  if (f.blur !== undefined && f.blur > 0) filters.push(`gblur=sigma=${num(f.blur)}`);
  const frame = state.crop ?? { width: source.width ?? 0, height: source.height ?? 0 };
  state.texts.forEach((text, i) => {
    const file = opts.textFiles[i];
    if (file === undefined) throw new Error(`renderPlan: no text file for text ${i}`);
    filters.push(drawText(text, frame, file, opts.fontFile));
  });
  return filters;
}

function audioFilters(state: EditState, seconds: number): string[] {
  const { gainDb, mute, fadeIn, fadeOut, denoise } = state.audio;
  const filters: string[] = [];
  if (denoise) filters.push('afftdn');
  if (mute) filters.push('volume=0');
  else if (gainDb !== 0) filters.push(`volume=${num(gainDb)}dB`);
  if (fadeIn > 0) filters.push(`afade=t=in:st=0:d=${num(Math.min(fadeIn, seconds))}`);
  if (fadeOut > 0) {
    const d = Math.min(fadeOut, seconds);
    filters.push(`afade=t=out:st=${num(seconds - d)}:d=${num(d)}`);
  }
  return filters;
}

/** True when the state keeps the whole recording: nothing to cut. */
function keepsAll(state: EditState, durationSeconds: number): boolean {
  return state.keep.length === 1 && state.keep[0]!.start === 0 && state.keep[0]!.end >= durationSeconds;
}

/**
 * The filter graph: each stream's own filters, then one trim per kept range and a concat of them (trim,
 * not select: MediaRecorder's WebM has a variable frame rate, and trim keeps each frame's own timestamp).
 */
export function filterGraph(
  state: EditState,
  source: Omit<RenderSource, 'file' | 'family'>,
  durationSeconds: number,
  opts: RenderPlanOptions,
): { graph: string; maps: string[] } {
  const seconds = keptSeconds(state);
  const ranges = keepsAll(state, durationSeconds) ? [] : state.keep;
  const chains: string[] = [];
  const streams: { kind: 'v' | 'a'; filters: string[] }[] = [];
  if (source.hasVideo) streams.push({ kind: 'v', filters: videoFilters(state, source, opts) });
  if (source.hasAudio) streams.push({ kind: 'a', filters: [] });
  const cutLabels: string[][] = ranges.map(() => []);
  for (const { kind, filters } of streams) {
    const pre = filters.length ? filters.join(',') : kind === 'v' ? 'null' : 'anull';
    if (ranges.length === 0) {
      chains.push(`[0:${kind}]${pre}[${kind}cut]`);
      continue;
    }
    const split = kind === 'v' ? 'split' : 'asplit';
    const trim = kind === 'v' ? 'trim' : 'atrim';
    const setpts = kind === 'v' ? 'setpts' : 'asetpts';
    const parts = ranges.map((_, i) => `[${kind}p${i}]`);
    chains.push(`[0:${kind}]${pre}${ranges.length > 1 ? `,${split}=${ranges.length}` : ''}${parts.join('')}`);
    ranges.forEach((r, i) => {
      chains.push(`[${kind}p${i}]${trim}=start=${num(r.start)}:end=${num(r.end)},${setpts}=PTS-STARTPTS[${kind}r${i}]`);
      cutLabels[i]!.push(`[${kind}r${i}]`);
    });
  }
  if (ranges.length > 0) {
    const outs = streams.map((s) => `[${s.kind}cut]`).join('');
    const inputs = cutLabels.flat().join('');
    const v = source.hasVideo ? 1 : 0;
    const a = source.hasAudio ? 1 : 0;
    chains.push(`${inputs}concat=n=${ranges.length}:v=${v}:a=${a}${outs}`);
  }
  const maps: string[] = [];
  if (source.hasVideo) {
    // even sizes and 4:2:0 for every encoder and player
    chains.push('[vcut]format=yuv420p[vout]');
    maps.push('[vout]');
  }
  if (source.hasAudio) {
    const post = audioFilters(state, seconds);
    chains.push(`[acut]${post.length ? post.join(',') : 'anull'}[aout]`);
    maps.push('[aout]');
  }
  return { graph: chains.join(';'), maps };
}

/** Encoders per output: fast presets (a render should take about as long as the recording, or less). */
function encoderArgs(output: RenderOutput, source: Pick<RenderSource, 'hasVideo' | 'hasAudio'>): string[] {
  const args: string[] = [];
  if (output.format === 'mp4') {
    if (source.hasVideo) args.push('-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23');
    if (source.hasAudio) args.push('-c:a', 'aac', '-b:a', '128k');
    args.push('-movflags', '+faststart');
  } else {
    if (source.hasVideo) {
      args.push('-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-row-mt', '1');
      args.push('-crf', '32', '-b:v', '0');
    }
    if (source.hasAudio) args.push('-c:a', 'libopus', '-b:a', '96k');
  }
  return args;
}

/** The whole ffmpeg command (after the executable): one input, one graph, one output, progress on stdout. */
export function renderPlan(
  state: EditState,
  source: RenderSource,
  durationSeconds: number,
  outputFile: string,
  opts: RenderPlanOptions,
): RenderPlan {
  if (!source.hasVideo && !source.hasAudio) throw new Error('renderPlan: the source has neither video nor audio');
  const output = renderOutput(source);
  const { graph, maps } = filterGraph(state, source, durationSeconds, opts);
  const args = [
    ...FFMPEG_QUIET,
    '-nostats',
    '-progress',
    'pipe:1',
    '-y',
    '-i',
    fileArg(source.file),
    '-filter_complex',
    graph,
    ...maps.flatMap((m) => ['-map', m]),
    ...encoderArgs(output, source),
    '-f',
    output.format,
    fileArg(outputFile),
  ];
  return { args, output, seconds: keptSeconds(state) };
}
