/**
 * The spec's `duration INTEGER CHECK (duration > 0)`, in seconds: the nearest whole second, at least 1.
 * Nearest, not up: Opus framing makes a 3 s take measure 3.008 s, which a person calls 3 s. The exact
 * milliseconds are kept in metadata.duration_ms.
 */
export function wholeSeconds(durationMs: number): number {
  return Math.max(1, Math.round(durationMs / 1000));
}
