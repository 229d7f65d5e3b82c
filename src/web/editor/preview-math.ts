/**
 * The live preview's arithmetic, kept apart from the DOM so it is unit-tested (test/web/editor.*.test.ts):
 * where playback must jump to skip what a trim removed, how source time maps to the output timeline
 * (fades are on the output timeline), the canvas filter that stands for ffmpeg's eq/hue/gblur, and
 * where a text box lands. Every function takes the one EditState the server folds and the render uses.
 */
import type { FILTER_RANGES, CropParams, EditState, TextOverlayParams, TimeRange } from '../../shared/edits.ts';

/** Closer than this to a kept range's end counts as its end (frames are ~33 ms; seeks land near, not on). */
export const EDGE_SECONDS = 0.02;

/**
 * Where playback at source time `t` must continue: null while `t` is inside a kept range, the start of
 * the next kept range when `t` is in a removed part, or 'end' past the last kept range.
 */
export function seekTarget(keep: readonly TimeRange[], t: number): number | 'end' | null {
  for (const r of keep) {
    if (t < r.start - EDGE_SECONDS) return r.start;
    if (t < r.end - EDGE_SECONDS) return null;
  }
  return 'end';
}

/** Seconds of output before source time `t` (the position on the edited timeline). */
export function outputTime(keep: readonly TimeRange[], t: number): number {
  let out = 0;
  for (const r of keep) {
    if (t <= r.start) break;
    out += Math.min(t, r.end) - r.start;
  }
  return out;
}

/**
 * The source time at output time `o` (the inverse of outputTime inside kept ranges); at the joint of two
 * ranges, the start of the later one (where playback continues).
 */
export function sourceTime(keep: readonly TimeRange[], o: number): number {
  let left = Math.max(0, o);
  for (const r of keep) {
    const len = r.end - r.start;
    if (left < len) return r.start + left;
    left -= len;
  }
  return keep.at(-1)?.end ?? 0;
}

/**
 * The audio gain at source time `t`: gain in dB as a factor, 0 when muted, times the fades' linear ramps
 * over the first fadeIn and last fadeOut seconds of the OUTPUT (ffmpeg's afade default curve is linear).
 */
export function audioGain(state: EditState, t: number): number {
  const { gainDb, mute, fadeIn, fadeOut } = state.audio;
  if (mute) return 0;
  let gain = 10 ** (gainDb / 20);
  const total = state.keep.reduce((sum, r) => sum + r.end - r.start, 0);
  const at = outputTime(state.keep, t);
  if (fadeIn > 0 && at < fadeIn) gain *= Math.max(0, at / fadeIn);
  if (fadeOut > 0 && at > total - fadeOut) gain *= Math.max(0, (total - at) / fadeOut);
  return gain;
}

/**
 * The canvas filter for the state's filters, in the render's order (eq, then hue/colour mixing, then blur).
 * - contrast, saturation: eq's contrast and saturation scale around mid-grey like CSS contrast()/saturate().
 * - brightness: eq ADDS `amount` to luma; CSS brightness() multiplies. brightness(1 + 2·amount) gives the
 *   same result at mid-grey (0.5 + amount = 0.5 · (1 + 2·amount)); darker pixels move less than in the
 *   render, lighter ones more (both clip at white).
 * - grayscale, sepia: the render blends the desaturated / sepia-mixed frame by `amount`, as CSS does.
 * - blur: gblur's sigma is in source pixels; the canvas is drawn at source resolution, and CSS blur()'s
 *   radius is the Gaussian's standard deviation, so the same number.
 */
export function canvasFilter(state: EditState): string {
  const f = state.filters;
  const parts: string[] = [];
  if (f.brightness !== undefined) parts.push(`brightness(${round(Math.max(0, 1 + 2 * f.brightness))})`);
  if (f.contrast !== undefined) parts.push(`contrast(${round(f.contrast)})`);
  if (f.saturation !== undefined) parts.push(`saturate(${round(f.saturation)})`);
  if (f.grayscale !== undefined) parts.push(`grayscale(${round(f.grayscale)})`);
  if (f.sepia !== undefined) parts.push(`sepia(${round(f.sepia)})`);
  if (f.blur !== undefined) parts.push(`blur(${round(f.blur)}px)`);
  return parts.length ? parts.join(' ') : 'none';
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/** The part of the source frame that shows (the crop, or the whole frame). */
export function sourceRect(state: EditState, width: number, height: number): CropParams {
  return state.crop ? { ...state.crop } : { x: 0, y: 0, width, height };
}

/**
 * Padding of a text's background box around the glyphs in output pixels: the render's drawtext boxborderw
 * (src/server/media/render.ts), a fifth of the font size, so the box looks the same at every resolution.
 */
export const textBoxPadding = (fontSize: number) => Math.max(1, Math.round(fontSize * 0.2));

export interface TextBox {
  /** Font size in output pixels (drawtext fontsize = size × frame height). */
  fontSize: number;
  /** Where the glyphs start (top-left, textBaseline 'top'). */
  x: number;
  y: number;
  /** The background box (glyph box plus padding), or null without a background. */
  box: { x: number; y: number; width: number; height: number } | null;
}

/**
 * Where a text lands in an output frame of `width`×`height`: its x/y are fractions of the frame (top-left
 * of the glyphs), its size a fraction of the frame's height; `measured` is the glyphs' width at that size.
 */
export function textBox(text: TextOverlayParams, width: number, height: number, measured: number): TextBox {
  const fontSize = Math.max(1, Math.round(text.size * height));
  const x = Math.round(text.x * width);
  const y = Math.round(text.y * height);
  const pad = textBoxPadding(fontSize);
  return {
    fontSize,
    x,
    y,
    box: text.background ? { x: x - pad, y: y - pad, width: measured + 2 * pad, height: fontSize + 2 * pad } : null,
  };
}

/** The texts showing at source time `t`: from `from` to `to` inclusive, as drawtext's enable=between(t,from,to). */
export const textsAt = (state: EditState, t: number) => state.texts.filter((x) => t >= x.from && t <= x.to);

/** #rrggbbaa → rgba() for the canvas (which takes #rrggbbaa too, but older engines do not). */
export function cssColor(hex: string): string {
  if (hex.length !== 9) return hex;
  const n = (i: number) => Number.parseInt(hex.slice(i, i + 2), 16);
  return `rgba(${n(1)}, ${n(3)}, ${n(5)}, ${round(n(7) / 255)})`;
}

/** A crop from a box drawn in displayed pixels: source pixels, even, at least 16, inside the frame. */
export function evenCrop(
  box: { x: number; y: number; width: number; height: number },
  scale: number,
  frame: { width: number; height: number },
): CropParams {
  const even = (n: number) => Math.max(0, Math.floor(n / 2) * 2);
  const x = Math.min(even(box.x * scale), Math.max(0, frame.width - 16));
  const y = Math.min(even(box.y * scale), Math.max(0, frame.height - 16));
  const width = Math.max(16, Math.min(even(box.width * scale), even(frame.width - x)));
  const height = Math.max(16, Math.min(even(box.height * scale), even(frame.height - y)));
  return { x, y, width, height };
}

/** The slider ranges of the filter controls, with a step fine enough for each. */
export const FILTER_STEPS: Record<keyof typeof FILTER_RANGES, number> = {
  brightness: 0.05,
  contrast: 0.05,
  saturation: 0.05,
  grayscale: 0.05,
  sepia: 0.05,
  blur: 0.5,
};
