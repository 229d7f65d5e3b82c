import { useId } from 'react';
import { FILTER_NAMES, FILTER_RANGES, type Edit, type EditState, type FilterName } from '../../../../shared/edits.ts';
import { FILTER_STEPS } from '../../../editor/preview-math.ts';

const LABELS: Record<FilterName, string> = {
  brightness: 'Brightness',
  contrast: 'Contrast',
  saturation: 'Saturation',
  grayscale: 'Grayscale',
  sepia: 'Sepia',
  blur: 'Blur',
};

/** What a panel that makes edits gets: the state, the draft it may preview, and where edits go. */
export interface EditPanelProps {
  state: EditState;
  draft: Edit | null;
  onDraft(edit: Edit | null): void;
  onEdit(edit: Edit): Promise<boolean>;
  busy: boolean;
}

/**
 * One slider per filter. Moving it previews at once (a draft edit over the state); letting go makes the
 * edit, so one drag is one line of history.
 */
export function FilterPanel(p: EditPanelProps) {
  const id = useId();
  const amountOf = (name: FilterName) => {
    if (p.draft?.type === 'filter' && p.draft.parameters.name === name) return p.draft.parameters.amount;
    return p.state.filters[name] ?? FILTER_RANGES[name].neutral;
  };
  const commit = (name: FilterName) => {
    const amount = amountOf(name);
    p.onDraft(null);
    if (amount !== (p.state.filters[name] ?? FILTER_RANGES[name].neutral))
      p.onEdit({ type: 'filter', parameters: { name, amount } });
  };
  return (
    <section className="editor-panel" aria-label="Filters">
      <h2>Filters</h2>
      {FILTER_NAMES.map((name) => {
        const r = FILTER_RANGES[name];
        return (
          <div className="slider-field" key={name}>
            <label htmlFor={`${id}-${name}`}>{LABELS[name]}</label>
            <input
              id={`${id}-${name}`}
              type="range"
              min={r.min}
              max={r.max}
              step={FILTER_STEPS[name]}
              value={amountOf(name)}
              disabled={p.busy}
              onChange={(e) => p.onDraft({ type: 'filter', parameters: { name, amount: Number(e.target.value) } })}
              onPointerUp={() => commit(name)}
              onKeyUp={() => commit(name)}
            />
            <output htmlFor={`${id}-${name}`}>{amountOf(name)}</output>
          </div>
        );
      })}
    </section>
  );
}
