import { useId, useState } from 'react';
import type { EditPanelProps } from './FilterPanel.tsx';

/** Volume (a slider, made an edit on release), mute, fades and noise reduction: each change one edit. */
export function AudioPanel(p: EditPanelProps) {
  const id = useId();
  const a = p.state.audio;
  const [fades, setFades] = useState({ in: a.fadeIn, out: a.fadeOut });
  const gain = p.draft?.type === 'audio' && 'gain_db' in p.draft.parameters ? p.draft.parameters.gain_db : a.gainDb;
  const commitGain = () => {
    p.onDraft(null);
    if (gain !== a.gainDb) p.onEdit({ type: 'audio', parameters: { gain_db: gain } });
  };
  return (
    <section className="editor-panel" aria-label="Audio">
      <h2>Audio</h2>
      <div className="slider-field">
        <label htmlFor={`${id}-gain`}>Volume (dB)</label>
        <input
          id={`${id}-gain`}
          type="range"
          min={-30}
          max={30}
          step={1}
          value={gain}
          disabled={p.busy}
          onChange={(e) => p.onDraft({ type: 'audio', parameters: { gain_db: Number(e.target.value) } })}
          onPointerUp={commitGain}
          onKeyUp={commitGain}
        />
        <output htmlFor={`${id}-gain`}>{gain > 0 ? `+${gain}` : gain}</output>
      </div>
      <label className="check">
        <input
          type="checkbox"
          checked={a.mute}
          disabled={p.busy}
          onChange={(e) => p.onEdit({ type: 'audio', parameters: { mute: e.target.checked } })}
        />
        Mute
      </label>
      <label className="check">
        <input
          type="checkbox"
          checked={a.denoise}
          disabled={p.busy}
          onChange={(e) => p.onEdit({ type: 'audio', parameters: { denoise: e.target.checked } })}
        />
        Reduce noise <span className="hint">(heard in the saved version only)</span>
      </label>
      <div className="field-row">
        <label htmlFor={`${id}-in`}>
          Fade in (s)
          <input
            id={`${id}-in`}
            type="number"
            min={0}
            max={60}
            step={0.1}
            value={fades.in}
            onChange={(e) => setFades({ ...fades, in: Number(e.target.value) || 0 })}
          />
        </label>
        <label htmlFor={`${id}-out`}>
          Fade out (s)
          <input
            id={`${id}-out`}
            type="number"
            min={0}
            max={60}
            step={0.1}
            value={fades.out}
            onChange={(e) => setFades({ ...fades, out: Number(e.target.value) || 0 })}
          />
        </label>
        <button
          type="button"
          disabled={p.busy || (fades.in === a.fadeIn && fades.out === a.fadeOut)}
          onClick={() => p.onEdit({ type: 'audio', parameters: { fade_in: fades.in, fade_out: fades.out } })}
        >
          Apply fades
        </button>
      </div>
    </section>
  );
}
