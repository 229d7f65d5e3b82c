import { useId, useRef, type PointerEvent as ReactPointerEvent } from 'react';
import type { Edit, TimeRange } from '../../../../shared/edits.ts';
import { clock } from '../../../../shared/edit-words.ts';
import { dragFrom } from './drag.ts';

export interface Selection {
  start: number;
  end: number;
}

const ms = (n: number) => Math.round(n * 1000) / 1000;

/**
 * The source timeline: kept ranges lit, removed ones dimmed, the playhead, and a selection with two
 * handles (dragged, or moved with the arrow keys, or typed). "Keep selection" is a keep trim (the trim
 * handles), "Cut selection" a cut trim of the middle.
 */
export function Timeline(p: {
  duration: number;
  keep: TimeRange[];
  time: number;
  selection: Selection;
  onSelect(s: Selection): void;
  onSeek(t: number): void;
  onEdit(edit: Edit): Promise<boolean>;
  busy: boolean;
}) {
  const id = useId();
  const bar = useRef<HTMLDivElement>(null);
  const d = p.duration || 1;
  const pct = (t: number) => `${(Math.min(Math.max(t, 0), d) / d) * 100}%`;
  const timeAt = (clientX: number) => {
    const r = bar.current!.getBoundingClientRect();
    return ms(Math.min(Math.max((clientX - r.left) / r.width, 0), 1) * d);
  };
  const setEdge = (edge: 'start' | 'end', t: number) => {
    const s = { ...p.selection, [edge]: ms(Math.min(Math.max(t, 0), d)) };
    if (s.end - s.start >= 0.001) p.onSelect(s);
  };
  const drag = (edge: 'start' | 'end') => (e: ReactPointerEvent<HTMLDivElement>) =>
    dragFrom(e, () => (ev) => setEdge(edge, timeAt(ev.clientX)));
  const handle = (edge: 'start' | 'end') => (
    <div
      className={`timeline-handle ${edge}`}
      style={{ left: pct(p.selection[edge]) }}
      role="slider"
      tabIndex={0}
      aria-label={edge === 'start' ? 'Selection start' : 'Selection end'}
      aria-valuemin={0}
      aria-valuemax={d}
      aria-valuenow={p.selection[edge]}
      aria-valuetext={clock(p.selection[edge])}
      onPointerDown={drag(edge)}
      onKeyDown={(e) => {
        const step = e.shiftKey ? 1 : 0.1;
        if (e.key === 'ArrowLeft') setEdge(edge, p.selection[edge] - step);
        else if (e.key === 'ArrowRight') setEdge(edge, p.selection[edge] + step);
        else return;
        e.preventDefault();
      }}
    />
  );
  const field = (edge: 'start' | 'end', label: string) => (
    <label htmlFor={`${id}-${edge}`}>
      {label}
      <input
        id={`${id}-${edge}`}
        type="number"
        min={0}
        max={d}
        step={0.001}
        value={p.selection[edge]}
        onChange={(e) => {
          const v = Number(e.target.value);
          if (Number.isFinite(v)) p.onSelect({ ...p.selection, [edge]: ms(v) });
        }}
      />
    </label>
  );
  const valid = p.selection.end > p.selection.start && p.selection.end <= d;
  return (
    <section className="editor-timeline" aria-label="Timeline">
      <div className="timeline-bar" ref={bar} data-testid="timeline" onPointerDown={(e) => p.onSeek(timeAt(e.clientX))}>
        {p.keep.map((r) => (
          <div
            key={`${r.start}-${r.end}`}
            className="timeline-kept"
            data-testid="kept-range"
            data-start={r.start}
            data-end={r.end}
            style={{ left: pct(r.start), width: `${((r.end - r.start) / d) * 100}%` }}
          />
        ))}
        <div
          className="timeline-selection"
          style={{ left: pct(p.selection.start), width: `${((p.selection.end - p.selection.start) / d) * 100}%` }}
        />
        <div className="timeline-playhead" style={{ left: pct(p.time) }} />
        {handle('start')}
        {handle('end')}
      </div>
      <div className="timeline-fields">
        {field('start', 'From (s)')}
        {field('end', 'To (s)')}
        <button
          type="button"
          disabled={p.busy || !valid}
          onClick={() => p.onEdit({ type: 'trim', parameters: { ...p.selection, mode: 'keep' } })}
        >
          Keep selection
        </button>
        <button
          type="button"
          disabled={p.busy || !valid}
          onClick={() => p.onEdit({ type: 'trim', parameters: { ...p.selection, mode: 'cut' } })}
        >
          Cut selection
        </button>
      </div>
    </section>
  );
}
