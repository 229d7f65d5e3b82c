import { useCallback, useEffect, useRef, useState } from 'react';
import type { LocalTake } from '../../persist/take-store.ts';
import type { TakeStatus } from '../../persist/take-manager.ts';
import type { MediaProblem } from '../../recorder/errors.ts';
import type { RecordingMode } from '../../recorder/modes.ts';
import type { Quality } from '../../recorder/quality.ts';
import { Recorder } from '../../recorder/recorder.ts';
import type { Sources } from '../../recorder/sources.ts';
import type { Session } from '../session.tsx';
import { problemOf } from './useSources.ts';

export type Phase = 'setup' | 'starting' | 'countdown' | 'recording' | 'paused' | 'stopping' | 'review';

export interface Finished {
  take: LocalTake;
  mode: RecordingMode;
  durationMs: number;
  slideChanges: { index: number; atMs: number }[];
  /** Why it stopped when it was not the user's Stop (screen share ended, device lost). */
  endedBy: MediaProblem | null;
}

/**
 * One take from Start to the review: builds the Recorder, binds it to the TakeManager, follows its
 * state, the countdown, the elapsed time and what is saved where. The take survives this hook: if the
 * page goes away mid-take, the recorder is stopped and the take is left for recovery.
 */
export function useTake(session: Session) {
  const [phase, setPhase] = useState<Phase>('setup');
  const [countdown, setCountdown] = useState(0);
  const [elapsedMs, setElapsed] = useState(0);
  const [status, setStatus] = useState<TakeStatus | null>(null);
  const [problem, setProblem] = useState<MediaProblem | null>(null);
  const [finished, setFinished] = useState<Finished | null>(null);
  const rec = useRef<Recorder | null>(null);
  const offs = useRef<(() => void)[]>([]);

  const unbind = useCallback(() => {
    for (const off of offs.current) off();
    offs.current = [];
  }, []);

  // Elapsed time from the recorder's own clock (it excludes paused time); 4 reads a second keep mm:ss exact.
  useEffect(() => {
    if (phase !== 'recording' && phase !== 'paused') return;
    const t = setInterval(() => rec.current && setElapsed(rec.current.elapsedMs()), 250);
    return () => clearInterval(t);
  }, [phase]);

  const start = useCallback(
    async (
      sources: Sources,
      o: { mode: RecordingMode; quality: Quality; projectId?: string; settings: Record<string, unknown> },
    ) => {
      setProblem(null);
      setFinished(null);
      setElapsed(0);
      setStatus(null);
      setPhase('starting');
      const r = new Recorder({ sources, quality: o.quality, mode: o.mode });
      rec.current = r;
      let take: LocalTake;
      try {
        take = await session.manager.begin(r, {
          mode: o.mode,
          quality: o.quality,
          projectId: o.projectId,
          deviceInfo: sources.deviceInfo,
          settings: o.settings,
        });
      } catch (err) {
        rec.current = null;
        setPhase('setup');
        setProblem({
          code: 'unknown',
          message: `The take could not be prepared: ${err instanceof Error ? err.message : String(err)}`,
        });
        return;
      }
      unbind();
      let reached = false;
      let lastError: MediaProblem | null = null;
      const failed = (p: MediaProblem) => {
        // MediaRecorder never started: the empty take is dropped so it is not offered for recovery,
        // and the problem is kept on a session of its own (server mode) so support can see it.
        setProblem(p);
        unbind();
        rec.current = null;
        void session.manager.discard(take.id).catch(() => undefined);
        void session.manager.recordProblem(o.mode, p, sources.deviceInfo).catch(() => undefined);
        setPhase('setup');
      };
      offs.current.push(
        r.on('countdown', (n) => {
          setCountdown(n);
          if (n > 0) setPhase('countdown');
        }),
        r.on('state', (s) => {
          if (s === 'recording') {
            reached = true;
            setPhase('recording');
          } else if (s === 'paused') setPhase('paused');
        }),
        r.on('error', (p) => {
          lastError = p;
          setProblem(p);
        }),
        r.on('stopped', (ev) => {
          unbind();
          rec.current = null;
          if (!reached) {
            // Cancelled during the countdown: nothing was recorded, so there is nothing to review or recover.
            void session.manager.discard(take.id).catch(() => undefined);
            setPhase('setup');
            return;
          }
          const endedBy = ev.reason === 'user' ? null : ev.reason;
          if (endedBy) setProblem(endedBy);
          setElapsed(ev.durationMs);
          setFinished({ take, mode: o.mode, durationMs: ev.durationMs, slideChanges: [...r.slideChanges], endedBy });
          setPhase('review');
          rec.current = null;
        }),
        session.manager.onStatus((s) => s.takeId === take.id && setStatus(s)),
      );
      try {
        await r.start(3);
        if (r.state === 'failed' && !reached)
          failed(lastError ?? { code: 'unknown', message: 'The recording could not start.' });
      } catch (err) {
        if (!reached) failed(problemOf(err, o.mode));
        else setProblem(problemOf(err, o.mode));
      }
    },
    [session.manager, unbind],
  );

  const pause = useCallback(() => rec.current?.pause(), []);
  const resume = useCallback(() => rec.current?.resume(), []);
  const stop = useCallback(async () => {
    const r = rec.current;
    if (!r) return;
    setPhase('stopping');
    try {
      await r.stop();
    } catch (err) {
      setProblem({ code: 'unknown', message: `Stopping failed: ${err instanceof Error ? err.message : String(err)}` });
    }
  }, []);

  /** Back to the set-up after the review kept or discarded the take. */
  const reset = useCallback(() => {
    setFinished(null);
    setProblem(null);
    setElapsed(0);
    setStatus(null);
    setPhase('setup');
  }, []);

  // Leaving the page mid-take: stop cleanly so the take's last slice is saved; it is then offered for recovery.
  useEffect(
    () => () => {
      const r = rec.current;
      if (r && r.state !== 'stopped' && r.state !== 'idle') void r.stop().catch(() => undefined);
      unbind();
    },
    [unbind],
  );

  return { phase, countdown, elapsedMs, status, problem, setProblem, finished, start, pause, resume, stop, reset };
}
