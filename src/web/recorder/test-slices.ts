/**
 * TEST-ONLY: reshapes the slices a Recorder emits, so a browser test can reproduce what MediaRecorder
 * does only now and then (a first slice of one byte) or what it never does (bytes that are not media).
 * Nothing in the app sets it; a test sets `window.__recorderTestSlices` before the page's scripts run
 * (Playwright's `addInitScript`). Unset, the Recorder emits MediaRecorder's slices untouched.
 *
 *  - 'first-byte-alone': the first slice is emitted as its first byte alone (0x1a, the start of the
 *    WebM header); the rest of it is held and emitted with the next slice, about a second later, so
 *    the live upload's first PATCH carries that one byte.
 *  - 'not-media': the first slice starts with "%PDF-" instead of the WebM header (same length), so the
 *    server's sniffing refuses the upload (415, detected application/pdf).
 */

export type TestSliceMode = 'first-byte-alone' | 'not-media';

/** Turns each MediaRecorder slice into the slices to emit; flush() gives what is held back at the end. */
export interface SliceShaper {
  shape(data: Blob): Blob[];
  flush(): Blob[];
}

declare global {
  interface Window {
    /** TEST-ONLY (see test-slices.ts). */
    __recorderTestSlices?: TestSliceMode;
  }
}

/** The shaper a test asked for through `window.__recorderTestSlices`, if any. */
export function testSliceShaper(): SliceShaper | undefined {
  const mode = typeof window !== 'undefined' ? window.__recorderTestSlices : undefined;
  if (mode === 'first-byte-alone') return firstByteAlone();
  if (mode === 'not-media') return notMedia();
  return undefined;
}

export function firstByteAlone(): SliceShaper {
  let first = true;
  let held: Blob | undefined;
  return {
    shape(data) {
      if (first) {
        first = false;
        held = data.slice(1);
        return [data.slice(0, 1)];
      }
      const out = held ? new Blob([held, data], { type: data.type }) : data;
      held = undefined;
      return [out];
    },
    flush() {
      const out = held?.size ? [held] : [];
      held = undefined;
      return out;
    },
  };
}

const PDF_MAGIC = new TextEncoder().encode('%PDF-');

export function notMedia(): SliceShaper {
  let first = true;
  return {
    shape(data) {
      if (!first) return [data];
      first = false;
      return [new Blob([PDF_MAGIC, data.slice(PDF_MAGIC.byteLength)], { type: data.type })];
    },
    flush: () => [],
  };
}
