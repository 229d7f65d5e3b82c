/**
 * The editor's edits (the spec's recording_edits: trim, crop, filter, text_overlay, audio): their
 * parameters, the checks that need the recording (its length and frame), and how a history folds into
 * the one EditState that the live preview draws and the render produces. Framework-free: the server
 * (API, render job), the browser (preview, history panel) and the tests all use this one definition.
 *
 * Times are seconds of the ORIGINAL recording (ms precision), whatever was trimmed before: an edit
 * means the same thing whatever comes before or after it, so undoing one never shifts another.
 */

export const EDIT_TYPES = ['trim', 'crop', 'filter', 'text_overlay', 'audio'] as const;
export type EditType = (typeof EDIT_TYPES)[number];

export const FILTER_NAMES = ['brightness', 'contrast', 'saturation', 'grayscale', 'sepia', 'blur'] as const;
export type FilterName = (typeof FILTER_NAMES)[number];

/** Each filter's amount: its range and the value that changes nothing. */
export const FILTER_RANGES: Record<FilterName, { min: number; max: number; neutral: number }> = {
  brightness: { min: -1, max: 1, neutral: 0 },
  contrast: { min: 0, max: 3, neutral: 1 },
  saturation: { min: 0, max: 3, neutral: 1 },
  grayscale: { min: 0, max: 1, neutral: 0 },
  sepia: { min: 0, max: 1, neutral: 0 },
  blur: { min: 0, max: 20, neutral: 0 },
};

/**
 * `keep` (the default): only [start, end] stays — what the timeline's trim handles make. `cut`: [start,
 * end] goes — a cut range in the middle. Several trims cut several parts.
 */
export interface TrimParams {
  start: number;
  end: number;
  mode?: 'keep' | 'cut';
}
/** Source pixels, even numbers (4:2:0 video), inside the frame. */
export interface CropParams {
  x: number;
  y: number;
  width: number;
  height: number;
}
export interface FilterParams {
  name: FilterName;
  amount: number;
}
/**
 * x, y: the text box's top-left corner as fractions (0..1) of the output frame (after the crop), so text
 * stays where it was put when the crop changes; size: the text's height as a fraction of the frame's
 * height; from/to: seconds of the original; colours #rrggbb, background #rrggbb or #rrggbbaa or none.
 */
export interface TextOverlayParams {
  text: string;
  x: number;
  y: number;
  from: number;
  to: number;
  size: number;
  color: string;
  background: string | null;
}
export type AudioParams =
  | { gain_db: number }
  | { mute: boolean }
  | { fade_in: number; fade_out: number }
  | {
      denoise: boolean;
    };

export type EditParams = {
  trim: TrimParams;
  crop: CropParams;
  filter: FilterParams;
  text_overlay: TextOverlayParams;
  audio: AudioParams;
};

export type Edit = { [K in EditType]: { type: K; parameters: EditParams[K] } }[EditType];

export const MAX_TEXT_LENGTH = 500;
const COLOR = '^#[0-9a-fA-F]{6}$';
const COLOR_ALPHA = '^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$';
/** 24 hours: no recording is longer (the upload limit is 10 GiB), and JSON numbers stay exact to the ms. */
const MAX_SECONDS = 86_400;
const seconds = { type: 'number', minimum: 0, maximum: MAX_SECONDS } as const;
const pixels = { type: 'integer', minimum: 0, maximum: 16_384, multipleOf: 2 } as const;
const fraction = { type: 'number', minimum: 0, maximum: 1 } as const;

/** The JSON schema of each type's parameters (the route combines them; OpenAPI shows them). */
export const EDIT_PARAMETER_SCHEMAS = {
  trim: {
    type: 'object',
    properties: { start: seconds, end: seconds, mode: { type: 'string', enum: ['keep', 'cut'] } },
    required: ['start', 'end'],
    additionalProperties: false,
  },
  crop: {
    type: 'object',
    properties: { x: pixels, y: pixels, width: { ...pixels, minimum: 16 }, height: { ...pixels, minimum: 16 } },
    required: ['x', 'y', 'width', 'height'],
    additionalProperties: false,
  },
  filter: {
    type: 'object',
    properties: { name: { type: 'string', enum: [...FILTER_NAMES] }, amount: { type: 'number' } },
    required: ['name', 'amount'],
    additionalProperties: false,
  },
  text_overlay: {
    type: 'object',
    properties: {
      text: { type: 'string', minLength: 1, maxLength: MAX_TEXT_LENGTH },
      x: fraction,
      y: fraction,
      from: seconds,
      to: seconds,
      size: { type: 'number', minimum: 0.02, maximum: 0.5 },
      color: { type: 'string', pattern: COLOR },
      background: { anyOf: [{ type: 'string', pattern: COLOR_ALPHA }, { type: 'null' }] },
    },
    required: ['text', 'x', 'y', 'from', 'to', 'size', 'color', 'background'],
    additionalProperties: false,
  },
  audio: {
    oneOf: [
      { type: 'object', properties: { gain_db: { type: 'number', minimum: -30, maximum: 30 } }, required: ['gain_db'] },
      { type: 'object', properties: { mute: { type: 'boolean' } }, required: ['mute'] },
      {
        type: 'object',
        properties: { fade_in: { ...seconds, maximum: 60 }, fade_out: { ...seconds, maximum: 60 } },
        required: ['fade_in', 'fade_out'],
      },
      { type: 'object', properties: { denoise: { type: 'boolean' } }, required: ['denoise'] },
    ].map((s) => ({ ...s, additionalProperties: false })),
  },
} as const;

export interface TimeRange {
  start: number;
  end: number;
}

/** What a recording looks like after its active edits, in the order they were made. */
export interface EditState {
  /** Ordered, disjoint ranges of the original that play, in seconds. Never empty. */
  keep: TimeRange[];
  crop: CropParams | null;
  /** Non-neutral filters only. */
  filters: Partial<Record<FilterName, number>>;
  texts: TextOverlayParams[];
  audio: { gainDb: number; mute: boolean; fadeIn: number; fadeOut: number; denoise: boolean };
}

/** What the checks need to know of the recording (from processing's probe). */
export interface MediaFacts {
  durationSeconds: number;
  /** null for audio recordings. */
  width: number | null;
  height: number | null;
}

/** Shortest output a trim may leave, in seconds. */
export const MIN_KEPT_SECONDS = 0.1;
const ms = (value: number) => Math.round(value * 1000) / 1000;

export function initialState(durationSeconds: number): EditState {
  return {
    keep: [{ start: 0, end: ms(durationSeconds) }],
    crop: null,
    filters: {},
    texts: [],
    audio: { gainDb: 0, mute: false, fadeIn: 0, fadeOut: 0, denoise: false },
  };
}

/** The first index in [0, length) whose range satisfies `past` (false before it, true from it on), or length. */
function firstIndex(keep: readonly TimeRange[], past: (r: TimeRange) => boolean): number {
  let lo = 0;
  let hi = keep.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (past(keep[mid]!)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Applies a trim to `keep` in place. The ranges are ordered and disjoint, so only those overlapping
 * (start, end) change — found by binary search — and a history of 10,000 cuts folds in milliseconds
 * instead of rebuilding every range for every trim.
 */
function trimInPlace(keep: TimeRange[], trim: TrimParams): void {
  const start = ms(trim.start);
  const end = ms(trim.end);
  // keep[first..last) overlap (start, end): they end after start and begin before end.
  const first = firstIndex(keep, (r) => r.end > start);
  const last = Math.max(
    first,
    firstIndex(keep, (r) => r.start >= end),
  );
  if (first === last) {
    if (trim.mode !== 'cut') keep.length = 0;
    return;
  }
  const head = keep[first]!;
  const tail = keep[last - 1]!;
  if (trim.mode === 'cut') {
    const parts: TimeRange[] = [];
    if (start > head.start) parts.push({ start: head.start, end: start });
    if (tail.end > end) parts.push({ start: end, end: tail.end });
    keep.splice(first, last - first, ...parts);
    return;
  }
  const kept = keep.slice(first, last);
  kept[0] = { start: Math.max(head.start, start), end: kept.length === 1 ? Math.min(head.end, end) : head.end };
  if (kept.length > 1) kept[kept.length - 1] = { start: tail.start, end: Math.min(tail.end, end) };
  keep.splice(0, keep.length, ...kept);
}

/** Applies one (checked) edit to a state the caller owns: the fold's single step. */
function applyInPlace(state: EditState, edit: Edit): void {
  switch (edit.type) {
    case 'trim':
      trimInPlace(state.keep, edit.parameters);
      return;
    case 'crop':
      state.crop = { ...edit.parameters };
      return;
    case 'filter': {
      const { name, amount } = edit.parameters;
      if (amount === FILTER_RANGES[name].neutral) delete state.filters[name];
      else state.filters[name] = amount;
      return;
    }
    case 'text_overlay':
      state.texts.push({ ...edit.parameters });
      return;
    case 'audio': {
      const p = edit.parameters;
      const audio = state.audio;
      if ('gain_db' in p) audio.gainDb = p.gain_db;
      if ('mute' in p) audio.mute = p.mute;
      if ('fade_in' in p) Object.assign(audio, { fadeIn: p.fade_in, fadeOut: p.fade_out });
      if ('denoise' in p) audio.denoise = p.denoise;
      return;
    }
  }
}

/** A copy of `state` that applyInPlace may change without touching the original. */
const ownCopy = (state: EditState): EditState => ({
  keep: state.keep.map((r) => ({ ...r })),
  crop: state.crop ? { ...state.crop } : null,
  filters: { ...state.filters },
  texts: [...state.texts],
  audio: { ...state.audio },
});

/** The state after one more edit (the edit already checked); `state` is left as it was. */
export function applyEdit(state: EditState, edit: Edit): EditState {
  const next = ownCopy(state);
  applyInPlace(next, edit);
  return next;
}

/** The state of a recording from its active edits, oldest first. One pass, one state changed in place. */
export function foldEdits(durationSeconds: number, edits: readonly Edit[]): EditState {
  const state = initialState(durationSeconds);
  for (const edit of edits) applyInPlace(state, edit);
  return state;
}

export const keptSeconds = (state: EditState) => ms(state.keep.reduce((sum, r) => sum + r.end - r.start, 0));

/**
 * Why this edit cannot follow `state` on this recording (a sentence for the 400), or null. The JSON
 * schema has checked shapes and ranges that need no recording.
 */
export function checkEdit(state: EditState, edit: Edit, media: MediaFacts): string | null {
  const duration = ms(media.durationSeconds);
  const hasVideo = media.width !== null && media.height !== null;
  if (!hasVideo && edit.type !== 'trim' && edit.type !== 'audio')
    return `An audio recording takes only trim and audio edits, not ${edit.type}`;
  switch (edit.type) {
    case 'trim': {
      const { start, end } = edit.parameters;
      if (end <= start) return 'A trim must end after it starts';
      if (end > duration) return `A trim must end within the recording (${duration} s)`;
      if (keptSeconds(applyEdit(state, edit)) < MIN_KEPT_SECONDS)
        return `This trim would leave less than ${MIN_KEPT_SECONDS} s of the recording`;
      return null;
    }
    case 'crop': {
      const { x, y, width, height } = edit.parameters;
      if (x + width > media.width! || y + height > media.height!)
        return `A crop must lie inside the ${media.width}×${media.height} frame`;
      return null;
    }
    case 'filter': {
      const { name, amount } = edit.parameters;
      const range = FILTER_RANGES[name];
      if (amount < range.min || amount > range.max) return `${name} takes an amount from ${range.min} to ${range.max}`;
      return null;
    }
    case 'text_overlay': {
      const { from, to } = edit.parameters;
      if (to <= from) return 'A text must disappear after it appears';
      if (to > duration) return `A text must end within the recording (${duration} s)`;
      return null;
    }
    case 'audio':
      return null;
  }
}
