import { useId, type PointerEvent as ReactPointerEvent } from 'react';
import type { CropParams, Edit } from '../../../../shared/edits.ts';
import { dragFrom } from './drag.ts';
import { DraftActions } from './DraftActions.tsx';

export interface Frame {
  width: number;
  height: number;
}

const even = (n: number) => Math.max(0, Math.round(n / 2) * 2);

/** Keeps a crop inside the frame, even and at least 16 px (the edit's own rules). */
export function fitCrop(c: CropParams, f: Frame): CropParams {
  const width = Math.min(Math.max(16, even(c.width)), even(f.width));
  const height = Math.min(Math.max(16, even(c.height)), even(f.height));
  const x = Math.min(Math.max(0, even(c.x)), even(f.width - width));
  const y = Math.min(Math.max(0, even(c.y)), even(f.height - height));
  return { x, y, width, height };
}

/**
 * The crop box drawn over the whole source frame while cropping: drag inside it to move it, drag its
 * corner to resize it. Coordinates are source pixels; the overlay scales with the canvas.
 */
export function CropBox(p: { crop: CropParams; frame: Frame; onChange(c: CropParams): void }) {
  const { crop, frame } = p;
  const pct = (n: number, of: number) => `${(n / of) * 100}%`;
  const drag = (kind: 'move' | 'resize') => (e: ReactPointerEvent<HTMLDivElement>) =>
    dragFrom(e, (el) => {
      const stage = el.closest('.editor-stage')!.getBoundingClientRect();
      const scale = frame.width / stage.width;
      const from = { x: e.clientX, y: e.clientY, crop: { ...crop } };
      return (ev) => {
        const dx = (ev.clientX - from.x) * scale;
        const dy = (ev.clientY - from.y) * scale;
        const c = from.crop;
        const next =
          kind === 'move'
            ? { ...c, x: c.x + dx, y: c.y + dy }
            : {
                ...c,
                width: Math.min(c.width + dx, frame.width - c.x),
                height: Math.min(c.height + dy, frame.height - c.y),
              };
        p.onChange(fitCrop(next, frame));
      };
    });
  return (
    <div
      className="crop-box"
      data-testid="crop-box"
      style={{
        left: pct(crop.x, frame.width),
        top: pct(crop.y, frame.height),
        width: pct(crop.width, frame.width),
        height: pct(crop.height, frame.height),
      }}
      onPointerDown={drag('move')}
    >
      <div className="crop-corner" onPointerDown={drag('resize')} />
    </div>
  );
}

/** The crop's numbers (source pixels) and its buttons; `draft` non-null means the crop box is out. */
export function CropPanel(p: {
  frame: Frame;
  current: CropParams | null;
  draft: CropParams | null;
  onDraft(c: CropParams | null): void;
  onEdit(edit: Edit): Promise<boolean>;
  busy: boolean;
}) {
  const id = useId();
  if (!p.draft) {
    return (
      <section className="editor-panel" aria-label="Crop">
        <h2>Crop</h2>
        <p>
          {p.current
            ? `${p.current.width}×${p.current.height} at ${p.current.x}, ${p.current.y}`
            : `Whole frame (${p.frame.width}×${p.frame.height})`}
        </p>
        <button type="button" onClick={() => p.onDraft(p.current ?? { x: 0, y: 0, ...p.frame })}>
          Crop…
        </button>
      </section>
    );
  }
  const draft = p.draft;
  const field = (key: keyof CropParams, label: string) => (
    <label htmlFor={`${id}-${key}`}>
      {label}
      <input
        id={`${id}-${key}`}
        type="number"
        step={2}
        min={0}
        value={draft[key]}
        onChange={(e) => p.onDraft({ ...draft, [key]: Number(e.target.value) || 0 })}
        onBlur={() => p.onDraft(fitCrop(draft, p.frame))}
      />
    </label>
  );
  return (
    <section className="editor-panel" aria-label="Crop">
      <h2>Crop</h2>
      <p className="hint">Drag the box on the video, or type source pixels.</p>
      <div className="field-row">
        {field('x', 'Left')}
        {field('y', 'Top')}
        {field('width', 'Width')}
        {field('height', 'Height')}
      </div>
      <DraftActions
        label="Apply crop"
        disabled={p.busy}
        edit={() => ({ type: 'crop', parameters: fitCrop(draft, p.frame) })}
        onEdit={p.onEdit}
        onDraft={p.onDraft}
      />
    </section>
  );
}
