import { useEffect, useRef, useState, type ReactNode } from 'react';
import { MODES, type RecordingMode } from '../../recorder/modes.ts';
import type { SlideDeck } from '../../recorder/slides.ts';
import type { Sources } from '../../recorder/sources.ts';
import { BubbleHandle } from './BubbleHandle.tsx';
import { LevelMeter } from './LevelMeter.tsx';
import { ModeIcon } from './Thumb.tsx';

function isTyping(t: EventTarget | null) {
  const el = t as HTMLElement | null;
  return !!el && (el.isContentEditable || ['INPUT', 'SELECT', 'TEXTAREA', 'BUTTON'].includes(el.tagName));
}

/** Slide navigation: buttons, ← → PageUp PageDown Space anywhere on the page (a presenter's clicker sends these). */
function useSlideKeys(deck: SlideDeck | null) {
  useEffect(() => {
    if (!deck) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
      const fwd = e.key === 'ArrowRight' || e.key === 'PageDown' || (e.key === ' ' && !isTyping(e.target));
      const back = e.key === 'ArrowLeft' || e.key === 'PageUp';
      if (
        (e.key === 'ArrowRight' || e.key === 'ArrowLeft') &&
        isTyping(e.target) &&
        (e.target as HTMLElement).tagName !== 'BUTTON'
      )
        return;
      if (!fwd && !back) return;
      e.preventDefault();
      if (fwd) deck.next();
      else deck.prev();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [deck]);
}

function useSlideIndex(deck: SlideDeck | null) {
  const [i, setI] = useState(deck?.index ?? 0);
  useEffect(() => {
    if (!deck) return;
    setI(deck.index);
    return deck.onChange(setI);
  }, [deck]);
  return i;
}

function useFullWindow(el: React.RefObject<HTMLElement | null>) {
  const [on, setOn] = useState(false);
  useEffect(() => {
    const sync = () => setOn(document.fullscreenElement === el.current && el.current !== null);
    document.addEventListener('fullscreenchange', sync);
    return () => document.removeEventListener('fullscreenchange', sync);
  }, [el]);
  const [fallback, setFallback] = useState(false);
  const toggle = async () => {
    const node = el.current;
    if (!node) return;
    if (on) return void (await document.exitFullscreen().catch(() => undefined));
    if (fallback) return setFallback(false);
    // Where the element cannot go full screen (iPhone Safari), fill the window with CSS instead.
    if (node.requestFullscreen && document.fullscreenEnabled)
      await node.requestFullscreen().catch(() => setFallback(true));
    else setFallback(true);
  };
  useEffect(() => {
    if (!fallback) return;
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && setFallback(false);
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [fallback]);
  return { on: on || fallback, fallback, toggle };
}

/** What will be recorded, live: the picture (with the draggable bubble), or the level meter for audio. */
export function Stage(p: {
  mode: RecordingMode;
  sources: Sources | null;
  deck: SlideDeck | null;
  overlay?: ReactNode;
  placeholder?: ReactNode;
}) {
  const video = useRef<HTMLVideoElement>(null);
  const stage = useRef<HTMLDivElement>(null);
  const m = MODES[p.mode];
  const index = useSlideIndex(p.deck);
  const full = useFullWindow(stage);
  useSlideKeys(m.slides ? p.deck : null);

  useEffect(() => {
    const v = video.current;
    if (!v) return;
    v.srcObject = p.sources?.preview ?? null;
    if (p.sources) void v.play().catch(() => undefined);
  }, [p.sources]);

  const onStageClick = (e: React.MouseEvent) => {
    if (!m.slides || !p.deck || (e.target as HTMLElement).closest('button, a, input, select')) return;
    p.deck.next();
  };

  return (
    <div
      ref={stage}
      className={[
        'stage',
        m.video ? '' : 'stage-audio',
        full.on ? 'presenting' : '',
        full.fallback ? 'presenting-fallback' : '',
      ].join(' ')}
    >
      {/* Clicking the picture advances slides; the same is on the buttons and keys, so no role is needed here. */}
      {/* biome-ignore lint/a11y/noStaticElementInteractions: a mouse shortcut for Next slide */}
      {/* biome-ignore lint/a11y/useKeyWithClickEvents: the arrow keys are handled on the page, for every slide mode */}
      <div className="stage-media" onClick={onStageClick}>
        {m.video ? (
          <video
            ref={video}
            muted
            playsInline
            autoPlay
            aria-label={
              m.slides
                ? `Slide ${index + 1} of ${p.deck?.count ?? 0}, as recorded`
                : 'Live preview of what will be recorded'
            }
          />
        ) : (
          <div className="audio-stage">
            <ModeIcon mode="audio" size={48} />
            <LevelMeter levels={p.sources?.levels} big />
          </div>
        )}
        {p.sources?.compositor && m.camera && <BubbleHandle compositor={p.sources.compositor} media={video} />}
        {!p.sources && <div className="stage-placeholder">{p.placeholder}</div>}
        {p.overlay}
      </div>
      {m.video && p.sources?.levels && <LevelMeter levels={p.sources.levels} />}
      {m.slides && p.deck && (
        // biome-ignore lint/a11y/useSemanticElements: buttons, not form fields
        <div className="slide-bar" role="group" aria-label="Slides">
          <button type="button" onClick={() => p.deck?.prev()} disabled={index === 0}>
            Previous slide
          </button>
          <span aria-live="polite" className="slide-count">
            Slide {index + 1} of {p.deck.count}
          </span>
          <button type="button" onClick={() => p.deck?.next()} disabled={index >= p.deck.count - 1}>
            Next slide
          </button>
          <button type="button" aria-pressed={full.on} onClick={() => void full.toggle()}>
            {full.on ? 'Leave full window' : 'Present full window'}
          </button>
        </div>
      )}
    </div>
  );
}
