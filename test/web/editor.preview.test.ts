/**
 * The live preview's arithmetic (src/web/editor/preview-math.ts): where playback jumps to skip trimmed
 * parts, source ↔ output time, the audio gain with fades, the canvas filter standing for ffmpeg's, text
 * placement and crops from a dragged box — all from EditStates folded by the shared model.
 */
import { describe, expect, it } from 'vitest';
import { foldEdits, type Edit, type TextOverlayParams } from '../../src/shared/edits.ts';
import {
  audioGain,
  canvasFilter,
  cssColor,
  evenCrop,
  outputTime,
  seekTarget,
  sourceRect,
  sourceTime,
  textBox,
  textsAt,
} from '../../src/web/editor/preview-math.ts';

const trimmed = foldEdits(10, [
  { type: 'trim', parameters: { start: 1, end: 9 } },
  { type: 'trim', parameters: { start: 3, end: 4, mode: 'cut' } },
]);

describe('seekTarget: playback skips what the trims removed', () => {
  it('folds to keep [1,3] and [4,9]', () => {
    expect(trimmed.keep).toEqual([
      { start: 1, end: 3 },
      { start: 4, end: 9 },
    ]);
  });
  it('jumps from before the first kept range to its start', () => {
    expect(seekTarget(trimmed.keep, 0)).toBe(1);
    expect(seekTarget(trimmed.keep, 0.5)).toBe(1);
  });
  it('stays inside kept ranges', () => {
    expect(seekTarget(trimmed.keep, 1)).toBeNull();
    expect(seekTarget(trimmed.keep, 2.5)).toBeNull();
    expect(seekTarget(trimmed.keep, 8.9)).toBeNull();
  });
  it('jumps over a cut to the next kept range, also a frame before the cut begins', () => {
    expect(seekTarget(trimmed.keep, 3.2)).toBe(4);
    expect(seekTarget(trimmed.keep, 2.99)).toBe(4);
  });
  it('says end past the last kept range', () => {
    expect(seekTarget(trimmed.keep, 9)).toBe('end');
    expect(seekTarget(trimmed.keep, 9.5)).toBe('end');
  });
  it('a slightly early seek lands inside the range (no endless seeking)', () => {
    expect(seekTarget(trimmed.keep, 3.99)).toBeNull();
  });
});

describe('outputTime and sourceTime', () => {
  it('count only kept seconds', () => {
    expect(outputTime(trimmed.keep, 0)).toBe(0);
    expect(outputTime(trimmed.keep, 2)).toBe(1);
    expect(outputTime(trimmed.keep, 3.5)).toBe(2);
    expect(outputTime(trimmed.keep, 5)).toBe(3);
    expect(outputTime(trimmed.keep, 10)).toBe(7);
  });
  it('are inverse inside kept ranges', () => {
    for (const t of [1, 2, 2.999, 4, 6.5, 9])
      expect(sourceTime(trimmed.keep, outputTime(trimmed.keep, t))).toBeCloseTo(t);
    expect(sourceTime(trimmed.keep, 100)).toBe(9);
  });
});

describe('audioGain', () => {
  it('turns dB into a factor and mute into silence', () => {
    expect(audioGain(foldEdits(10, []), 5)).toBe(1);
    expect(audioGain(foldEdits(10, [{ type: 'audio', parameters: { gain_db: 6 } }]), 5)).toBeCloseTo(1.995, 3);
    expect(audioGain(foldEdits(10, [{ type: 'audio', parameters: { gain_db: -20 } }]), 5)).toBeCloseTo(0.1);
    const muted = foldEdits(10, [
      { type: 'audio', parameters: { gain_db: 6 } },
      { type: 'audio', parameters: { mute: true } },
    ]);
    expect(audioGain(muted, 5)).toBe(0);
  });
  it('fades on the output timeline: from the first kept second and to the last', () => {
    const s = foldEdits(10, [
      { type: 'trim', parameters: { start: 1, end: 9 } },
      { type: 'trim', parameters: { start: 3, end: 4, mode: 'cut' } },
      { type: 'audio', parameters: { fade_in: 2, fade_out: 1 } },
    ]);
    expect(audioGain(s, 1)).toBe(0);
    expect(audioGain(s, 2)).toBeCloseTo(0.5); // 1 s into the output
    expect(audioGain(s, 4)).toBeCloseTo(1); // 2 s into the output (the cut is skipped)
    expect(audioGain(s, 8.5)).toBeCloseTo(0.5); // 0.5 s before the end
    expect(audioGain(s, 9)).toBe(0);
  });
});

describe('canvasFilter', () => {
  const withFilters = (...f: [string, number][]) =>
    foldEdits(
      10,
      f.map(([name, amount]) => ({ type: 'filter', parameters: { name, amount } }) as Edit),
    );
  it('is none without filters, and after a filter set back to neutral', () => {
    expect(canvasFilter(foldEdits(10, []))).toBe('none');
    expect(canvasFilter(withFilters(['contrast', 1.5], ['contrast', 1]))).toBe('none');
  });
  it('maps every filter in the render order', () => {
    const s = withFilters(
      ['blur', 4],
      ['sepia', 0.3],
      ['grayscale', 0.5],
      ['saturation', 2],
      ['contrast', 1.2],
      ['brightness', 0.25],
    );
    expect(canvasFilter(s)).toBe('brightness(1.5) contrast(1.2) saturate(2) grayscale(0.5) sepia(0.3) blur(4px)');
  });
  it('matches eq brightness at mid-grey and never goes negative', () => {
    expect(canvasFilter(withFilters(['brightness', -0.25]))).toBe('brightness(0.5)');
    expect(canvasFilter(withFilters(['brightness', -1]))).toBe('brightness(0)');
    expect(canvasFilter(withFilters(['brightness', 1]))).toBe('brightness(3)');
  });
  it('keeps the last amount of a filter set twice', () => {
    expect(canvasFilter(withFilters(['saturation', 2], ['saturation', 0.5]))).toBe('saturate(0.5)');
  });
});

describe('sourceRect', () => {
  it('is the crop, or the whole frame', () => {
    expect(sourceRect(foldEdits(10, []), 640, 480)).toEqual({ x: 0, y: 0, width: 640, height: 480 });
    const cropped = foldEdits(10, [{ type: 'crop', parameters: { x: 10, y: 20, width: 320, height: 200 } }]);
    expect(sourceRect(cropped, 640, 480)).toEqual({ x: 10, y: 20, width: 320, height: 200 });
  });
});

describe('text placement', () => {
  const text: TextOverlayParams = {
    text: 'Hello',
    x: 0.25,
    y: 0.5,
    from: 1,
    to: 3,
    size: 0.1,
    color: '#ffffff',
    background: '#00000080',
  };
  it('places the glyphs at fractions of the output frame, sized by its height', () => {
    const b = textBox(text, 320, 200, 100);
    expect(b).toMatchObject({ fontSize: 20, x: 80, y: 100 });
    // drawtext's boxborderw: a fifth of the font size = 4
    expect(b.box).toEqual({ x: 76, y: 96, width: 108, height: 28 });
  });
  it('has no box without a background', () => {
    expect(textBox({ ...text, background: null }, 320, 200, 100).box).toBeNull();
  });
  it('shows texts from `from` to `to`, both included (drawtext between())', () => {
    const s = foldEdits(10, [{ type: 'text_overlay', parameters: text }]);
    expect(textsAt(s, 0.99)).toEqual([]);
    expect(textsAt(s, 1).map((t) => t.text)).toEqual(['Hello']);
    expect(textsAt(s, 2.99)).toHaveLength(1);
    expect(textsAt(s, 3)).toHaveLength(1);
    expect(textsAt(s, 3.01)).toEqual([]);
  });
  it('turns #rrggbbaa into rgba()', () => {
    expect(cssColor('#00000080')).toBe('rgba(0, 0, 0, 0.502)');
    expect(cssColor('#ff8800')).toBe('#ff8800');
  });
});

describe('evenCrop', () => {
  it('scales a displayed box to even source pixels inside the frame', () => {
    expect(evenCrop({ x: 11, y: 5, width: 101, height: 51 }, 2, { width: 640, height: 480 })).toEqual({
      x: 22,
      y: 10,
      width: 202,
      height: 102,
    });
    expect(evenCrop({ x: 300, y: 200, width: 100, height: 100 }, 2, { width: 640, height: 480 })).toEqual({
      x: 600,
      y: 400,
      width: 40,
      height: 80,
    });
  });
});
