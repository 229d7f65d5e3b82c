import { useId, type PointerEvent as ReactPointerEvent } from 'react';
import type { Edit, TextOverlayParams } from '../../../../shared/edits.ts';
import { dragFrom } from './drag.ts';
import { DraftActions } from './DraftActions.tsx';

const clamp01 = (n: number) => Math.min(Math.max(n, 0), 1);
const frac = (n: number) => Math.round(clamp01(n) * 1000) / 1000;

/**
 * The text being placed, drawn over the preview as a handle at its top-left corner: drag it to move the
 * text (x/y are fractions of the output frame, so the stage's size does not matter).
 */
export function TextHandle(p: { text: TextOverlayParams; onChange(t: TextOverlayParams): void }) {
  const drag = (e: ReactPointerEvent<HTMLDivElement>) =>
    dragFrom(e, (el) => {
      const stage = el.closest('.editor-stage')!.getBoundingClientRect();
      const box = el.getBoundingClientRect();
      const grab = { dx: e.clientX - box.left, dy: e.clientY - box.top };
      return (ev) =>
        p.onChange({
          ...p.text,
          x: frac((ev.clientX - grab.dx - stage.left) / stage.width),
          y: frac((ev.clientY - grab.dy - stage.top) / stage.height),
        });
    });
  return (
    <div
      className="text-handle"
      data-testid="text-handle"
      style={{ left: `${p.text.x * 100}%`, top: `${p.text.y * 100}%` }}
      onPointerDown={drag}
      title="Drag to place the text"
    />
  );
}

export const newText = (from: number, to: number): TextOverlayParams => ({
  text: '',
  x: 0.05,
  y: 0.05,
  from,
  to,
  size: 0.08,
  color: '#ffffff',
  background: '#00000099',
});

/** A new text overlay: its words, size, colours and when it shows; "Add text" makes the edit. */
export function TextPanel(p: {
  draft: TextOverlayParams | null;
  duration: number;
  onDraft(t: TextOverlayParams | null): void;
  onEdit(edit: Edit): Promise<boolean>;
  busy: boolean;
  time: number;
}) {
  const id = useId();
  if (!p.draft) {
    return (
      <section className="editor-panel" aria-label="Text">
        <h2>Text</h2>
        <button
          type="button"
          onClick={() => p.onDraft(newText(Math.min(p.time, p.duration - 0.1), Math.min(p.time + 3, p.duration)))}
        >
          Add text…
        </button>
      </section>
    );
  }
  const t = p.draft;
  const set = (patch: Partial<TextOverlayParams>) => p.onDraft({ ...t, ...patch });
  const num = (key: 'from' | 'to' | 'x' | 'y', label: string, max: number, step: number) => (
    <label htmlFor={`${id}-${key}`}>
      {label}
      <input
        id={`${id}-${key}`}
        type="number"
        min={0}
        max={max}
        step={step}
        value={t[key]}
        onChange={(e) => set({ [key]: Number(e.target.value) || 0 })}
      />
    </label>
  );
  return (
    <section className="editor-panel" aria-label="Text">
      <h2>Text</h2>
      <label htmlFor={`${id}-text`}>Words</label>
      <input
        id={`${id}-text`}
        type="text"
        maxLength={500}
        value={t.text}
        onChange={(e) => set({ text: e.target.value })}
      />
      <p className="hint">Drag the handle on the video to place it.</p>
      <div className="field-row">
        {num('from', 'Shows from (s)', p.duration, 0.1)}
        {num('to', 'until (s)', p.duration, 0.1)}
        {num('x', 'Left (0–1)', 1, 0.01)}
        {num('y', 'Top (0–1)', 1, 0.01)}
      </div>
      <div className="field-row">
        <label htmlFor={`${id}-size`}>
          Size (% of height)
          <input
            id={`${id}-size`}
            type="number"
            min={2}
            max={50}
            step={1}
            value={Math.round(t.size * 100)}
            onChange={(e) => set({ size: Math.min(Math.max(Number(e.target.value) || 2, 2), 50) / 100 })}
          />
        </label>
        <label htmlFor={`${id}-color`}>
          Colour
          <input id={`${id}-color`} type="color" value={t.color} onChange={(e) => set({ color: e.target.value })} />
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={t.background !== null}
            onChange={(e) => set({ background: e.target.checked ? '#00000099' : null })}
          />
          Dark box behind
        </label>
      </div>
      <DraftActions
        label="Add text"
        disabled={p.busy || !t.text.trim() || t.to <= t.from}
        edit={() => ({ type: 'text_overlay', parameters: { ...t, text: t.text.trim() } })}
        onEdit={p.onEdit}
        onDraft={p.onDraft}
      />
    </section>
  );
}
