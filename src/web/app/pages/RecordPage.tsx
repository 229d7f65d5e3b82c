import { useEffect, useId, useRef, useState, type ChangeEvent } from 'react';
import { MODES, type RecordingMode } from '../../recorder/modes.ts';
import type { SlideDeck } from '../../recorder/slides.ts';
import type { Sources } from '../../recorder/sources.ts';
import { DeviceControls, type DeviceState } from '../components/DeviceControls.tsx';
import { ModePicker } from '../components/ModePicker.tsx';
import { RecoveryBanner } from '../components/RecoveryBanner.tsx';
import { Review } from '../components/Review.tsx';
import { Stage } from '../components/Stage.tsx';
import { Countdown, TakeControls, TakeStatusLine } from '../components/TakeControls.tsx';
import { useSources, useDevices } from '../hooks/useSources.ts';
import { useTake } from '../hooks/useTake.ts';
import { errorText } from '../hooks/util.ts';
import { useSession } from '../session.tsx';

const PREFS = 'recorder.prefs';

/**
 * Quality, devices and the microphone switch are remembered in this browser. The mode is not: every
 * visit starts on Camera, so the page never opens on a slides mode waiting for a file nobody chose.
 */
function loadPrefs(): DeviceState {
  const d: DeviceState = { quality: 'medium', cameraId: '', micId: '', mic: true };
  try {
    const p = JSON.parse(localStorage.getItem(PREFS) ?? '{}') as Partial<DeviceState>;
    if (p.quality === 'high' || p.quality === 'medium' || p.quality === 'low') d.quality = p.quality;
    if (typeof p.cameraId === 'string') d.cameraId = p.cameraId;
    if (typeof p.micId === 'string') d.micId = p.micId;
    if (typeof p.mic === 'boolean') d.mic = p.mic;
  } catch {
    /* unreadable preferences: the defaults */
  }
  return d;
}

/** Opens a deck from the chosen files; pdf.js is only loaded when someone presents slides. */
async function openDeck(files: File[]): Promise<SlideDeck> {
  const { SlideDeck } = await import('../../recorder/slides.ts');
  const pdf = files.find((f) => f.type === 'application/pdf' || /\.pdf$/i.test(f.name));
  if (pdf) return SlideDeck.fromPdf(pdf);
  const images = files.filter((f) => f.type.startsWith('image/'));
  if (!images.length) throw new Error('Choose a PDF or one or more images.');
  return SlideDeck.fromImages(images);
}

export function RecordPage() {
  const session = useSession();
  const id = useId();
  const [mode, setMode] = useState<RecordingMode>('camera');
  const [devices, setDevices] = useState<DeviceState>(loadPrefs);
  const [deck, setDeck] = useState<SlideDeck | null>(null);
  const [deckError, setDeckError] = useState<string | null>(null);
  const [deckLoading, setDeckLoading] = useState(false);
  const take = useTake(session);
  const m = MODES[mode];
  const busy = take.phase !== 'setup';
  const src = useSources(
    { mode, ...devices, deck: m.slides ? deck : null },
    busy,
    (p, md) => void session.manager.recordProblem(md, p).catch(() => undefined),
  );
  const { cameras, mics } = useDevices(src.sources);

  useEffect(() => localStorage.setItem(PREFS, JSON.stringify(devices)), [devices]);
  // A remembered device that is gone (unplugged, another computer) falls back to the default one.
  useEffect(() => {
    const known = (list: MediaDeviceInfo[], id: string) =>
      !id || !list.some((d) => d.deviceId) || list.some((d) => d.deviceId === id);
    if (!known(cameras, devices.cameraId) || !known(mics, devices.micId)) {
      setDevices((d) => ({
        ...d,
        cameraId: known(cameras, d.cameraId) ? d.cameraId : '',
        micId: known(mics, d.micId) ? d.micId : '',
      }));
    }
  }, [cameras, mics, devices.cameraId, devices.micId]);
  useEffect(() => () => deck?.close(), [deck]);

  // A source that ends by itself before recording (screen share stopped from the browser bar): say so, drop it.
  // The phase is read when it ends, not when the sources came (mid-take the Recorder handles it).
  const phase = useRef(take.phase);
  phase.current = take.phase;
  const { sources, setProblem: setSourceProblem, release } = src;
  useEffect(() => {
    sources?.onEnded((p) => {
      if (phase.current !== 'setup') return;
      setSourceProblem(p);
      release();
    });
  }, [sources, setSourceProblem, release]);

  // The review needs no camera: release it so the light goes off.
  useEffect(() => {
    if (take.phase === 'review') release();
  }, [take.phase, release]);

  // The Start button disappears with the click: keep keyboard focus on the page (the stage, not a
  // button, so Space still advances slides) and bring the picture and controls into view on phones.
  const stageRef = useRef<HTMLElement>(null);
  useEffect(() => {
    if (take.phase !== 'countdown') return;
    stageRef.current?.scrollIntoView({ block: 'start', behavior: 'smooth' });
    stageRef.current?.focus({ preventScroll: true });
  }, [take.phase]);

  useEffect(() => {
    if (take.phase !== 'recording' && take.phase !== 'paused') return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [take.phase]);

  async function onSlides(e: ChangeEvent<HTMLInputElement>) {
    const files = Array.from(e.target.files ?? []);
    if (!files.length) return;
    setDeckLoading(true);
    setDeckError(null);
    try {
      setDeck(await openDeck(files));
    } catch (err) {
      setDeckError(errorText(err));
    } finally {
      setDeckLoading(false);
    }
  }

  async function start() {
    let sources: Sources;
    try {
      sources = await src.acquire();
    } catch {
      return; // the problem is on screen (and reported) already
    }
    await take.start(sources, {
      mode,
      quality: devices.quality,
      settings: { quality: devices.quality, mic: m.micOptional ? devices.mic : true, countdownSeconds: 3 },
    });
  }

  if (take.phase === 'review' && take.finished) {
    return (
      <>
        <h1>Record</h1>
        <Review f={take.finished} onDone={take.reset} />
      </>
    );
  }

  const problem = take.problem ?? src.problem;
  const needsDeck = m.slides && !deck;
  const placeholder = needsDeck ? (
    <p>Open a PDF or images to present.</p>
  ) : m.screen ? (
    <button
      type="button"
      className="primary"
      onClick={() => void src.acquire().catch(() => undefined)}
      disabled={src.acquiring}
    >
      {src.acquiring ? 'Waiting for your choice…' : 'Choose what to share'}
    </button>
  ) : (
    <p>{src.acquiring ? 'Starting the preview…' : problem ? 'No preview' : ''}</p>
  );

  return (
    <>
      <h1 className={busy ? 'sr-only' : undefined}>Record</h1>
      {!busy && <RecoveryBanner />}
      <div className={`record ${busy ? 'is-recording' : ''}`}>
        <section className="record-stage" ref={stageRef} tabIndex={-1} aria-label="Preview and recording controls">
          <Stage
            mode={mode}
            sources={src.sources}
            deck={m.slides ? deck : null}
            placeholder={placeholder}
            overlay={take.phase === 'countdown' ? <Countdown n={take.countdown} /> : null}
          />
          {busy && (
            <div className="record-bar">
              <TakeControls
                phase={take.phase}
                elapsedMs={take.elapsedMs}
                onPause={take.pause}
                onResume={take.resume}
                onStop={() => void take.stop()}
                onCancel={() => void take.stop()}
              />
              <TakeStatusLine status={take.status} storage={session.storage} />
            </div>
          )}
        </section>
        <div className="record-panel">
          <fieldset disabled={busy} className="plain">
            <legend className="label">Recording type</legend>
            <ModePicker value={mode} onChange={setMode} disabled={busy} />
          </fieldset>
          {m.slides && (
            <div className="field">
              <label htmlFor={`${id}-slides`}>Slides (PDF or images)</label>
              <input
                id={`${id}-slides`}
                type="file"
                accept="application/pdf,.pdf,image/*"
                multiple
                onChange={(e) => void onSlides(e)}
                disabled={busy || deckLoading}
                aria-describedby={`${id}-slides-hint`}
              />
              <small id={`${id}-slides-hint`} className="hint">
                {deckLoading
                  ? 'Opening…'
                  : deck
                    ? `${deck.count} slide${deck.count === 1 ? '' : 's'} ready. Use ← → or click the slide to move on.`
                    : 'One PDF, or several images in name order.'}
              </small>
              {deckError && (
                <small className="field-error" role="alert">
                  {deckError}
                </small>
              )}
            </div>
          )}
          <DeviceControls
            mode={mode}
            value={devices}
            onChange={setDevices}
            cameras={cameras}
            mics={mics}
            disabled={busy}
          />
          <div role="alert" aria-live="assertive">
            {problem && (
              <div className="notice error">
                <p>{problem.message}</p>
                {!busy && (
                  <button type="button" className="small" onClick={() => void src.acquire().catch(() => undefined)}>
                    Try again
                  </button>
                )}
              </div>
            )}
          </div>
          {!busy && (
            // While the preview has a problem only "Try again" can help: Start would just ask (and fail) the same way.
            <button
              type="button"
              className="primary big wide"
              onClick={() => void start()}
              disabled={src.acquiring || needsDeck || deckLoading || src.problem !== null}
            >
              <span className="rec-dot" aria-hidden="true" /> Start recording
            </button>
          )}
          <p className="muted small-print">
            {session.storage === 'server'
              ? 'Every second is saved in this browser and uploaded while you record.'
              : 'Recordings are saved in this browser only.'}
          </p>
        </div>
      </div>
    </>
  );
}
