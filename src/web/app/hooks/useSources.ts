import { useCallback, useEffect, useRef, useState } from 'react';
import { describeMediaError, type MediaProblem } from '../../recorder/errors.ts';
import { MODES, type RecordingMode } from '../../recorder/modes.ts';
import type { Quality } from '../../recorder/quality.ts';
import { acquireSources, listDevices, type Sources } from '../../recorder/sources.ts';
import type { SlideDeck } from '../../recorder/slides.ts';

export interface SourceChoice {
  mode: RecordingMode;
  quality: Quality;
  cameraId: string;
  micId: string;
  mic: boolean;
  deck: SlideDeck | null;
}

function what(mode: RecordingMode): 'camera' | 'microphone' | 'screen' | 'camera and microphone' {
  const m = MODES[mode];
  if (m.screen) return 'screen';
  if (m.camera) return 'camera and microphone';
  return 'microphone';
}

export function problemOf(err: unknown, mode: RecordingMode): MediaProblem {
  return describeMediaError(err, what(mode));
}

/** Whether a preview may be opened without a click: screen capture needs one, slides need a deck first. */
export function canAutoAcquire(c: SourceChoice): boolean {
  const m = MODES[c.mode];
  return !m.screen && (!m.slides || c.deck !== null);
}

/**
 * The live sources for the chosen mode and devices. A change of choice releases the old sources and
 * (where no click is needed) opens new ones; `frozen` (while recording) keeps the current ones whatever changes.
 */
export function useSources(
  c: SourceChoice,
  frozen: boolean,
  onProblem?: (p: MediaProblem, mode: RecordingMode) => void,
) {
  const [sources, setSources] = useState<Sources | null>(null);
  const [problem, setProblem] = useState<MediaProblem | null>(null);
  const [acquiring, setAcquiring] = useState(false);
  const current = useRef<Sources | null>(null);
  const pending = useRef<Promise<Sources> | null>(null);
  const gen = useRef(0);
  const choice = useRef(c);
  choice.current = c;
  const report = useRef(onProblem);
  report.current = onProblem;

  const release = useCallback(() => {
    gen.current++;
    current.current?.stop();
    current.current = null;
    pending.current = null;
    // A superseded acquire's finally skips this (its gen is stale): without it the page waits forever.
    setAcquiring(false);
    setSources(null);
  }, []);

  /** Opens the sources for the current choice (or returns the open ones); throws the MediaProblem-carrying error. */
  const acquire = useCallback(async (): Promise<Sources> => {
    if (current.current) return current.current;
    if (pending.current) return pending.current;
    const g = gen.current;
    const o = choice.current;
    setAcquiring(true);
    setProblem(null);
    const p = acquireSources({
      mode: o.mode,
      quality: o.quality,
      cameraId: o.cameraId || undefined,
      micId: o.micId || undefined,
      mic: MODES[o.mode].micOptional ? o.mic : true,
      slides: o.deck ?? undefined,
    });
    pending.current = p;
    try {
      const s = await p;
      if (g !== gen.current) {
        // The choice changed while the browser was asking: these sources are for the old one.
        s.stop();
        throw new Error('superseded');
      }
      current.current = s;
      setSources(s);
      return s;
    } catch (err) {
      if (g === gen.current) {
        const p = problemOf(err, o.mode);
        setProblem(p);
        report.current?.(p, o.mode);
      }
      throw err;
    } finally {
      if (g === gen.current) {
        pending.current = null;
        setAcquiring(false);
      }
    }
  }, []);

  const key = `${c.mode}|${c.quality}|${c.cameraId}|${c.micId}|${c.mic}`;
  // A new choice (mode, devices, deck) or the end of a take starts the preview afresh; acquire and release
  // are stable, and a freeze (a take starting) must not tear the preview down.
  // biome-ignore lint/correctness/useExhaustiveDependencies: key, deck and the unfreezing are the triggers
  useEffect(() => {
    if (frozen) return;
    release();
    setProblem(null);
    if (canAutoAcquire(choice.current)) acquire().catch(() => undefined);
  }, [key, c.deck, frozen === false]);

  useEffect(() => () => release(), [release]);

  return { sources, problem, setProblem, acquiring, acquire, release };
}

/** Cameras and microphones; re-read after permission is granted (labels appear) and on plug/unplug. */
export function useDevices(refreshKey: unknown) {
  const [devices, setDevices] = useState<{ cameras: MediaDeviceInfo[]; mics: MediaDeviceInfo[] }>({
    cameras: [],
    mics: [],
  });
  // biome-ignore lint/correctness/useExhaustiveDependencies: refreshKey is the trigger
  useEffect(() => {
    let live = true;
    const load = () =>
      listDevices().then(
        (d) => live && setDevices(d),
        () => undefined,
      );
    void load();
    navigator.mediaDevices?.addEventListener?.('devicechange', load);
    return () => {
      live = false;
      navigator.mediaDevices?.removeEventListener?.('devicechange', load);
    };
  }, [refreshKey]);
  return devices;
}
