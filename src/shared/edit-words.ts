/**
 * What an edit replaced (recording_edits.undo_data) and how the history panel says it in words. The
 * history is a stack, so undo removes an edit from the fold (edits.ts); undo_data records what the edit
 * changed — the state it overrode — so the history can say "crop 1280×720 → 640×360" and a reader of the
 * table alone can see what each row did.
 */
import { type CropParams, type Edit, type EditState, type FilterName, keptSeconds, type TimeRange } from './edits.ts';

/**
 * A trim's undo data names at most this many of the ranges it changed (and how many more): after thousands
 * of cuts a keep trim can remove thousands of ranges, and copying them all into every row would make the
 * table and every history answer grow with the square of the history.
 */
export const MAX_UNDO_RANGES = 10;

export type UndoData =
  /** keep: the ranges of the state before that the trim shortened, split or removed (the first ones). */
  | { keep: TimeRange[]; moreRanges?: number; keptSeconds: number }
  | { crop: CropParams | null }
  | { filter: { name: FilterName; amount: number | null } }
  | { texts: number }
  | { audio: EditState['audio'] };

/** What `edit` overrides in `state` (the state just before it). */
export function undoDataFor(state: EditState, edit: Edit): UndoData {
  switch (edit.type) {
    case 'trim': {
      const ms = (value: number) => Math.round(value * 1000) / 1000;
      const [start, end] = [ms(edit.parameters.start), ms(edit.parameters.end)];
      const changed = state.keep.filter((r) =>
        edit.parameters.mode === 'cut' ? r.end > start && r.start < end : r.start < start || r.end > end,
      );
      const more = changed.length - MAX_UNDO_RANGES;
      return {
        keep: changed.slice(0, MAX_UNDO_RANGES).map((r) => ({ ...r })),
        ...(more > 0 ? { moreRanges: more } : {}),
        keptSeconds: keptSeconds(state),
      };
    }
    case 'crop':
      return { crop: state.crop ? { ...state.crop } : null };
    case 'filter':
      return { filter: { name: edit.parameters.name, amount: state.filters[edit.parameters.name] ?? null } };
    case 'text_overlay':
      return { texts: state.texts.length };
    case 'audio':
      return { audio: { ...state.audio } };
  }
}

/** 83.5 → "1:23.500" */
export function clock(seconds: number): string {
  const whole = Math.floor(seconds);
  const millis = Math.round((seconds - whole) * 1000);
  const minutes = Math.floor(whole / 60);
  return `${minutes}:${String(whole % 60).padStart(2, '0')}.${String(millis).padStart(3, '0')}`;
}

const signed = (value: number, unit = '') => `${value > 0 ? '+' : ''}${value}${unit}`;

/** One line for the history panel: "Cut 0:03.000–0:04.250", "Text “Hello” 0:01.000–0:03.000". */
export function describeEdit(edit: Edit): string {
  switch (edit.type) {
    case 'trim': {
      const { start, end, mode } = edit.parameters;
      return `${mode === 'cut' ? 'Cut' : 'Kept'} ${clock(start)}–${clock(end)}`;
    }
    case 'crop': {
      const { x, y, width, height } = edit.parameters;
      return `Cropped to ${width}×${height} at ${x}, ${y}`;
    }
    case 'filter': {
      const { name, amount } = edit.parameters;
      const label = `${name[0]!.toUpperCase()}${name.slice(1)}`;
      return name === 'brightness' ? `${label} ${signed(amount)}` : `${label} ${amount}`;
    }
    case 'text_overlay': {
      const { text, from, to } = edit.parameters;
      const shown = text.length > 40 ? `${text.slice(0, 39)}…` : text;
      return `Text “${shown}” ${clock(from)}–${clock(to)}`;
    }
    case 'audio': {
      const p = edit.parameters;
      if ('gain_db' in p) return `Volume ${signed(p.gain_db, ' dB')}`;
      if ('mute' in p) return p.mute ? 'Muted' : 'Unmuted';
      if ('fade_in' in p) return `Fade in ${p.fade_in} s, fade out ${p.fade_out} s`;
      return p.denoise ? 'Noise reduction on' : 'Noise reduction off';
    }
  }
}
