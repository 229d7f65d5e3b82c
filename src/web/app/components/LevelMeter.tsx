import { useEffect, useRef } from 'react';
import type { LevelMeter as Meter } from '../../recorder/audio.ts';

/**
 * A live bar from the recorder's level meter. Drawn with a style write per animation frame (no React
 * render per frame); the ARIA value is updated a few times a second so screen readers are not flooded.
 */
export function LevelMeter({
  levels,
  label = 'Microphone level',
  big = false,
}: {
  levels: Meter | undefined;
  label?: string;
  big?: boolean;
}) {
  const bar = useRef<HTMLDivElement>(null);
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!levels) return;
    let raf = 0;
    let last = 0;
    const tick = (t: number) => {
      const v = levels.level();
      if (bar.current) bar.current.style.transform = `scaleX(${v.toFixed(3)})`;
      if (host.current && t - last > 500) {
        last = t;
        host.current.setAttribute('aria-valuenow', String(Math.round(v * 100)));
      }
      raf = requestAnimationFrame(tick);
    };
    raf = requestAnimationFrame(tick);
    return () => cancelAnimationFrame(raf);
  }, [levels]);
  return (
    // biome-ignore lint/a11y/useSemanticElements: the bar is moved every frame by style, which <meter> cannot take
    <div
      ref={host}
      className={`level ${big ? 'level-big' : ''}`}
      role="meter"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={0}
    >
      <div ref={bar} className="level-bar" />
    </div>
  );
}
