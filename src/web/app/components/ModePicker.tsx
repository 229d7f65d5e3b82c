import { useRef, type KeyboardEvent } from 'react';
import { MODE_LIST, MODES, type RecordingMode } from '../../recorder/modes.ts';
import { ModeIcon } from './Thumb.tsx';

const HINTS: Record<RecordingMode, string> = {
  camera: 'You, on camera',
  audio: 'Voice only',
  screen: 'A screen, window or tab',
  'screen-camera': 'Screen with you in a bubble',
  slides: 'Present a PDF or images',
  'slides-camera': 'Slides with you in a bubble',
};

/** A radio group of buttons (roving tab stop, arrow keys), as the WAI-ARIA radio group pattern asks. */
export function ModePicker({
  value,
  onChange,
  disabled,
}: {
  value: RecordingMode;
  onChange(m: RecordingMode): void;
  disabled?: boolean;
}) {
  const refs = useRef<(HTMLButtonElement | null)[]>([]);

  const onKey = (e: KeyboardEvent<HTMLButtonElement>, i: number) => {
    const step =
      e.key === 'ArrowRight' || e.key === 'ArrowDown' ? 1 : e.key === 'ArrowLeft' || e.key === 'ArrowUp' ? -1 : 0;
    if (!step) return;
    e.preventDefault();
    const next = (i + step + MODE_LIST.length) % MODE_LIST.length;
    onChange(MODE_LIST[next]!);
    refs.current[next]?.focus();
  };

  return (
    <div role="radiogroup" aria-label="Recording type" className="modes">
      {MODE_LIST.map((m, i) => (
        // biome-ignore lint/a11y/useSemanticElements: cards; WAI-ARIA radio pattern
        <button
          key={m}
          ref={(el) => {
            refs.current[i] = el;
          }}
          type="button"
          role="radio"
          aria-checked={value === m}
          aria-label={MODES[m].label}
          aria-describedby={`mode-hint-${m}`}
          tabIndex={value === m ? 0 : -1}
          data-mode={m}
          disabled={disabled}
          className="mode"
          onClick={() => onChange(m)}
          onKeyDown={(e) => onKey(e, i)}
        >
          <ModeIcon mode={m} />
          <span className="mode-label">{MODES[m].label}</span>
          <span className="mode-hint" id={`mode-hint-${m}`}>
            {HINTS[m]}
          </span>
        </button>
      ))}
    </div>
  );
}
