import type { TakeStatus } from '../../persist/take-manager.ts';
import { formatDuration, takeStatusLine } from '../format.ts';
import type { Phase } from '../hooks/useTake.ts';
import { notUploadedText } from './TakeRefused.tsx';

export function Countdown({ n }: { n: number }) {
  return (
    <div className="countdown" data-testid="countdown" role="status" aria-live="assertive">
      <span className="sr-only">Recording starts in </span>
      <span className="countdown-n" key={n}>
        {n}
      </span>
    </div>
  );
}

/** What is safe where, said plainly; the offline notices are what a person needs to know mid-take. */
export function TakeStatusLine({ status, storage }: { status: TakeStatus | null; storage: 'server' | 'browser' }) {
  const s = status ?? { durationMs: 0, localBytes: 0, serverBytes: 0, online: true, serverReachable: true };
  return (
    // The test id is on the whole block, so what it reads includes the offline/unreachable notices.
    <div className="take-status" data-testid="take-status">
      <p>{takeStatusLine(s, storage)}</p>
      <div role="status" aria-live="polite">
        {storage === 'server' && !s.online && (
          <p className="notice warn">
            You are offline. Recording continues and is saved in this browser; it uploads when you are back online.
          </p>
        )}
        {status?.problem && <p className="notice error">{status.problem.message}</p>}
        {status?.refused && (
          <p className="notice error">
            {notUploadedText(status.refused)} Recording goes on and is saved in this browser; after you stop, you can
            download the take or try the upload again.
          </p>
        )}
        {storage === 'server' && s.online && !s.serverReachable && !status?.refused && (
          <p className="notice warn">
            The server cannot be reached. Recording continues and is saved in this browser; the upload resumes on its
            own.
          </p>
        )}
      </div>
    </div>
  );
}

export function TakeControls(p: {
  phase: Phase;
  elapsedMs: number;
  onPause(): void;
  onResume(): void;
  onStop(): void;
  onCancel(): void;
}) {
  const recording = p.phase === 'recording';
  const paused = p.phase === 'paused';
  return (
    <div className="take-controls">
      {p.phase === 'countdown' || p.phase === 'starting' ? (
        <button type="button" onClick={p.onCancel}>
          Cancel
        </button>
      ) : (
        <>
          <span className={`rec-dot ${paused ? 'paused' : ''}`} aria-hidden="true" />
          <span className="sr-only" role="status">
            {paused ? 'Paused' : recording ? 'Recording' : ''}
          </span>
          <span className="sr-only">Elapsed time</span>
          <time className="elapsed" data-testid="elapsed">
            {formatDuration(p.elapsedMs / 1000)}
          </time>
          {paused ? (
            <button type="button" onClick={p.onResume}>
              Resume
            </button>
          ) : (
            <button type="button" onClick={p.onPause} disabled={!recording}>
              Pause
            </button>
          )}
          <button type="button" className="stop" onClick={p.onStop} disabled={p.phase === 'stopping'}>
            <span className="stop-square" aria-hidden="true" />
            Stop
          </button>
        </>
      )}
    </div>
  );
}
