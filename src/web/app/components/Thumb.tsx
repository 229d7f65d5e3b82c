import { useState } from 'react';

const ICONS: Record<string, string> = {
  camera: 'M4 7h10a2 2 0 0 1 2 2v1l4-3v10l-4-3v1a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V9a2 2 0 0 1 2-2z',
  audio: 'M12 3a3 3 0 0 1 3 3v6a3 3 0 0 1-6 0V6a3 3 0 0 1 3-3zM6 11a6 6 0 0 0 12 0M12 17v4',
  screen: 'M3 5h18v11H3zM8 20h8M12 16v4',
  'screen-camera': 'M3 5h18v11H3zM8 20h8M12 16v4M17 13a2 2 0 1 0 0-.01',
  slides: 'M4 4h16v12H4zM12 16v4M8 20h8M8 8h8M8 11h5',
  'slides-camera': 'M4 4h16v12H4zM12 16v4M8 20h8M8 8h5M16 12a2 2 0 1 0 0-.01',
};

export function ModeIcon({ mode, size = 24 }: { mode: string; size?: number }) {
  return (
    <svg
      width={size}
      height={size}
      viewBox="0 0 24 24"
      aria-hidden="true"
      fill="none"
      stroke="currentColor"
      strokeWidth="1.6"
      strokeLinecap="round"
      strokeLinejoin="round"
    >
      <path d={ICONS[mode] ?? ICONS.camera} />
    </svg>
  );
}

/** The card's picture: the server's thumbnail, loaded lazily, or the mode's icon when there is none (yet). */
export function Thumb({ src, mode }: { src: string | null; mode: string }) {
  const [broken, setBroken] = useState(false);
  if (src && !broken)
    return (
      <img
        className="thumb"
        src={src}
        alt=""
        loading="lazy"
        decoding="async"
        width={320}
        height={180}
        onError={() => setBroken(true)}
      />
    );
  return (
    <div className={`thumb thumb-empty thumb-${mode}`}>
      <ModeIcon mode={mode} size={36} />
    </div>
  );
}
