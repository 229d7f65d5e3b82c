import { useRef, type RefObject } from 'react';
import { formatDuration } from '../format.ts';
import { Waveform } from './Waveform.tsx';

export interface SlideMark {
  index: number;
  atMs: number;
}

export function slideMarks(meta: Record<string, unknown> | undefined): SlideMark[] {
  const s = meta?.slides;
  if (!Array.isArray(s)) return [];
  return s.filter((x): x is SlideMark => typeof x?.index === 'number' && typeof x?.atMs === 'number');
}

/**
 * A WebM straight from MediaRecorder has no duration in its header (processing writes one later), so
 * the element reports Infinity and cannot seek. Seeking far past the end makes the browser find the
 * real end; then back to the start.
 */
export function fixUnknownDuration(el: HTMLMediaElement) {
  if (el.duration !== Infinity) return;
  // A play() asked for meanwhile would be ended by the jump to the end; it is honoured afterwards.
  let wantsPlay = !el.paused;
  const onPlay = () => {
    wantsPlay = true;
  };
  const back = () => {
    if (el.duration === Infinity) return;
    el.removeEventListener('durationchange', back);
    el.removeEventListener('play', onPlay);
    el.currentTime = 0;
    if (wantsPlay) void el.play().catch(() => undefined);
  };
  el.addEventListener('play', onPlay);
  el.addEventListener('durationchange', back);
  el.currentTime = Number.MAX_SAFE_INTEGER;
}

/** The player: <video>, or <audio> with its waveform; seeking is the server's Range support (or a local blob). */
export function MediaView({
  src,
  audio,
  title,
  mediaRef,
}: {
  src: string;
  audio: boolean;
  title: string;
  mediaRef?: RefObject<HTMLMediaElement | null>;
}) {
  const own = useRef<HTMLMediaElement | null>(null);
  const ref = mediaRef ?? own;
  if (audio) {
    return (
      <div className="player audio-player">
        <Waveform url={src} media={ref} />
        {/* biome-ignore lint/a11y/useMediaCaption: a person's own recording: there is no caption track to offer */}
        <audio
          ref={(el) => {
            ref.current = el;
          }}
          src={src}
          controls
          preload="metadata"
          data-testid="player"
          onLoadedMetadata={(e) => fixUnknownDuration(e.currentTarget)}
          aria-label={`Play ${title}`}
        />
      </div>
    );
  }
  return (
    <div className="player">
      {/* biome-ignore lint/a11y/useMediaCaption: a person's own recording: there is no caption track to offer */}
      <video
        ref={(el) => {
          ref.current = el;
        }}
        src={src}
        controls
        playsInline
        preload="metadata"
        data-testid="player"
        onLoadedMetadata={(e) => fixUnknownDuration(e.currentTarget)}
        aria-label={`Play ${title}`}
      />
    </div>
  );
}

export function SlideList({ marks, media }: { marks: SlideMark[]; media: RefObject<HTMLMediaElement | null> }) {
  if (!marks.length) return null;
  return (
    <section className="slides-list" aria-labelledby="slides-h">
      <h2 id="slides-h">Slides</h2>
      <ol>
        {marks.map((m) => (
          <li key={`${m.atMs}-${m.index}`}>
            <button
              type="button"
              className="link-button"
              onClick={() => {
                const el = media.current;
                if (!el) return;
                el.currentTime = m.atMs / 1000;
                void el.play().catch(() => undefined);
              }}
            >
              Slide {m.index + 1} at {formatDuration(m.atMs / 1000)}
            </button>
          </li>
        ))}
      </ol>
    </section>
  );
}
