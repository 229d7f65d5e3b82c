import { useEffect, useState, type KeyboardEvent, type PointerEvent, type RefObject } from 'react';
import type { Compositor } from '../../recorder/compositor.ts';

/** Where the picture sits inside the element (object-fit: contain letterboxes it). */
function contentRect(el: HTMLVideoElement | HTMLCanvasElement) {
  const box = el.getBoundingClientRect();
  const w = el instanceof HTMLVideoElement ? el.videoWidth : el.width;
  const h = el instanceof HTMLVideoElement ? el.videoHeight : el.height;
  if (!w || !h) return box;
  const scale = Math.min(box.width / w, box.height / h);
  const cw = w * scale;
  const ch = h * scale;
  return new DOMRect(box.left + (box.width - cw) / 2, box.top + (box.height - ch) / 2, cw, ch);
}

/**
 * A transparent handle laid over the camera bubble the compositor draws. Dragging it (pointer) or the
 * arrow keys move the bubble in the recording itself; + and − resize it.
 */
export function BubbleHandle({
  compositor,
  media,
}: {
  compositor: Compositor;
  media: RefObject<HTMLVideoElement | null>;
}) {
  const [b, setB] = useState(compositor.bubble);
  const [, setLayout] = useState(0);
  const [drag, setDrag] = useState<{ dx: number; dy: number } | null>(null);

  // Re-measure when the preview resizes (window resize, full-window presenting, video size known).
  useEffect(() => {
    const el = media.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setLayout((n) => n + 1));
    ro.observe(el);
    const onMeta = () => setLayout((n) => n + 1);
    el.addEventListener('loadedmetadata', onMeta);
    return () => {
      ro.disconnect();
      el.removeEventListener('loadedmetadata', onMeta);
    };
  }, [media]);

  const apply = (next: { x: number; y: number; size: number }) => {
    compositor.setBubble(next);
    setB(compositor.bubble);
  };

  const el = media.current;
  if (!el) return null;
  const r = contentRect(el);
  const host = el.getBoundingClientRect();
  const d = b.size * r.height;
  const left = r.left - host.left + b.x * r.width - d / 2;
  const top = r.top - host.top + b.y * r.height - d / 2;

  const onDown = (e: PointerEvent<HTMLButtonElement>) => {
    e.currentTarget.setPointerCapture(e.pointerId);
    const c = contentRect(el);
    setDrag({ dx: e.clientX - (c.left + b.x * c.width), dy: e.clientY - (c.top + b.y * c.height) });
    e.stopPropagation();
  };
  const onMove = (e: PointerEvent<HTMLButtonElement>) => {
    if (!drag) return;
    const c = contentRect(el);
    apply({ x: (e.clientX - drag.dx - c.left) / c.width, y: (e.clientY - drag.dy - c.top) / c.height, size: b.size });
  };
  const onKey = (e: KeyboardEvent<HTMLButtonElement>) => {
    const step = e.shiftKey ? 0.1 : 0.02;
    const moves: Record<string, [number, number, number]> = {
      ArrowLeft: [-step, 0, 0],
      ArrowRight: [step, 0, 0],
      ArrowUp: [0, -step, 0],
      ArrowDown: [0, step, 0],
      '+': [0, 0, 0.05],
      '=': [0, 0, 0.05],
      '-': [0, 0, -0.05],
    };
    const m = moves[e.key];
    if (!m) return;
    e.preventDefault();
    e.stopPropagation();
    apply({ x: b.x + m[0], y: b.y + m[1], size: b.size + m[2] });
  };

  return (
    <button
      type="button"
      className={`bubble-handle ${drag ? 'dragging' : ''}`}
      style={{ left, top, width: d, height: d }}
      aria-label={
        `Camera bubble at ${Math.round(b.x * 100)}% across, ${Math.round(b.y * 100)}% down. ` +
        'Drag or use arrow keys to move, plus and minus to resize.'
      }
      onPointerDown={onDown}
      onPointerMove={onMove}
      onPointerUp={() => setDrag(null)}
      onPointerCancel={() => setDrag(null)}
      onClick={(e) => e.stopPropagation()}
      onKeyDown={onKey}
    />
  );
}
