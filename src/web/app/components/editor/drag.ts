import type { PointerEvent as ReactPointerEvent } from 'react';

/**
 * Follows one pointer from its pointerdown until it is released: `follow` is called once with the element
 * (to measure what the drag is relative to) and returns what to do on each pointermove. The pointer is
 * captured, so a drag that leaves the element keeps going.
 */
export function dragFrom<T extends HTMLElement>(
  e: ReactPointerEvent<T>,
  follow: (el: T) => (ev: PointerEvent) => void,
): void {
  e.preventDefault();
  e.stopPropagation();
  const el = e.currentTarget;
  el.setPointerCapture(e.pointerId);
  const move = follow(el);
  const up = () => {
    el.removeEventListener('pointermove', move);
    el.removeEventListener('pointerup', up);
  };
  el.addEventListener('pointermove', move);
  el.addEventListener('pointerup', up);
}
