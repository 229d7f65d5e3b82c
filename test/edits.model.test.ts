/** The fold of edits into one state (src/shared/edits.ts): what the preview draws and the render makes. */
import { describe, expect, it } from 'vitest';
import { describeEdit, undoDataFor } from '../src/shared/edit-words.js';
import { checkEdit, type Edit, foldEdits, initialState, keptSeconds, type MediaFacts } from '../src/shared/edits.js';

const video = { durationSeconds: 30, width: 1280, height: 720 };
const audio = { durationSeconds: 30, width: null, height: null };

describe('foldEdits', () => {
  it('keeps what keep-trims keep and removes what cut-trims cut, in source time', () => {
    const state = foldEdits(30, [
      { type: 'trim', parameters: { start: 2, end: 28 } },
      { type: 'trim', parameters: { start: 10, end: 12.5, mode: 'cut' } },
      { type: 'trim', parameters: { start: 20, end: 21, mode: 'cut' } },
    ]);
    expect(state.keep).toEqual([
      { start: 2, end: 10 },
      { start: 12.5, end: 20 },
      { start: 21, end: 28 },
    ]);
    expect(keptSeconds(state)).toBe(22.5);
  });

  it('the last crop, the last amount of each filter, every text, each audio setting on its own', () => {
    const state = foldEdits(30, [
      { type: 'crop', parameters: { x: 0, y: 0, width: 640, height: 360 } },
      { type: 'crop', parameters: { x: 100, y: 50, width: 320, height: 180 } },
      { type: 'filter', parameters: { name: 'contrast', amount: 1.5 } },
      { type: 'filter', parameters: { name: 'blur', amount: 4 } },
      { type: 'filter', parameters: { name: 'blur', amount: 0 } },
      { type: 'audio', parameters: { gain_db: 6 } },
      { type: 'audio', parameters: { mute: true } },
      { type: 'audio', parameters: { fade_in: 1, fade_out: 2 } },
    ]);
    expect(state.crop).toEqual({ x: 100, y: 50, width: 320, height: 180 });
    expect(state.filters).toEqual({ contrast: 1.5 });
    expect(state.audio).toEqual({ gainDb: 6, mute: true, fadeIn: 1, fadeOut: 2, denoise: false });
  });
});

describe('checkEdit', () => {
  const fresh = initialState(30);
  const check = (edit: Edit, media: MediaFacts = video) => checkEdit(fresh, edit, media);

  it('refuses what does not fit the recording, with a sentence', () => {
    expect(check({ type: 'trim', parameters: { start: 5, end: 5 } })).toMatch(/end after it starts/);
    expect(check({ type: 'trim', parameters: { start: 5, end: 31 } })).toMatch(/within the recording \(30 s\)/);
    expect(check({ type: 'trim', parameters: { start: 0, end: 30, mode: 'cut' } })).toMatch(/less than 0.1 s/);
    expect(check({ type: 'crop', parameters: { x: 1000, y: 0, width: 640, height: 360 } })).toMatch(/1280×720/);
    expect(check({ type: 'filter', parameters: { name: 'blur', amount: 21 } })).toMatch(/from 0 to 20/);
    expect(check({ type: 'crop', parameters: { x: 0, y: 0, width: 16, height: 16 } }, audio)).toMatch(/audio/);
    expect(check({ type: 'audio', parameters: { gain_db: -6 } }, audio)).toBeNull();
    expect(check({ type: 'trim', parameters: { start: 1, end: 2 } })).toBeNull();
  });
});

describe('undo data and words', () => {
  it('records what an edit replaced and says it in words', () => {
    const before = foldEdits(30, [{ type: 'crop', parameters: { x: 0, y: 0, width: 640, height: 360 } }]);
    const crop: Edit = { type: 'crop', parameters: { x: 2, y: 4, width: 320, height: 180 } };
    expect(undoDataFor(before, crop)).toEqual({ crop: { x: 0, y: 0, width: 640, height: 360 } });
    expect(describeEdit(crop)).toBe('Cropped to 320×180 at 2, 4');
    expect(describeEdit({ type: 'trim', parameters: { start: 63.25, end: 70, mode: 'cut' } })).toBe(
      'Cut 1:03.250–1:10.000',
    );
    expect(describeEdit({ type: 'audio', parameters: { gain_db: 6 } })).toBe('Volume +6 dB');
  });
});
