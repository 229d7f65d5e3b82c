import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import {
  applyEdit,
  keptSeconds,
  type CropParams,
  type Edit,
  type EditState,
  type TextOverlayParams,
} from '../../../shared/edits.ts';
import { clock } from '../../../shared/edit-words.ts';
import { type EditHistory, HistoryClient } from '../../editor/history-client.ts';
import { historyKey } from '../../editor/keys.ts';
import { PreviewEngine } from '../../editor/preview.ts';
import { outputTime } from '../../editor/preview-math.ts';
import { api, ApiError } from '../../persist/api.ts';
import { AudioPanel } from '../components/editor/AudioPanel.tsx';
import { CropBox, CropPanel } from '../components/editor/CropPanel.tsx';
import { FilterPanel } from '../components/editor/FilterPanel.tsx';
import { HistoryPanel } from '../components/editor/HistoryPanel.tsx';
import { TextHandle, TextPanel } from '../components/editor/TextPanel.tsx';
import { type Selection, Timeline } from '../components/editor/Timeline.tsx';
import { VersionsPanel } from '../components/editor/VersionsPanel.tsx';
import { errorText, useInterval } from '../hooks/util.ts';
import { Link } from '../router.tsx';
import type { Recording } from '../types.ts';

type Notice = { kind: 'conflict' | 'error'; text: string } | null;

const CONFLICT_WORDS =
  'These edits were changed in another tab or on another device. This is the latest; your last change was not made.';

/** What the preview shows: the saved state with the edit being dragged or typed laid over it. */
function previewState(state: EditState, draft: Edit | null, text: TextOverlayParams | null): EditState {
  let s = draft ? applyEdit(state, draft) : state;
  if (text?.text.trim()) s = applyEdit(s, { type: 'text_overlay', parameters: text });
  return s;
}

/**
 * The editor: the original played through the edit state (preview.ts), the timeline, crop, filters,
 * texts and audio, the history with undo/redo, and the versions. Every change is an edit on the server
 * (history-client.ts); the page shows the history the server answers with, nothing kept only here.
 */
export function EditorPage({ id }: { id: string }) {
  const [rec, setRec] = useState<Recording | null>(null);
  const [history, setHistory] = useState<EditHistory | null>(null);
  const [loadError, setLoadError] = useState<{ message: string; code: string } | null>(null);
  const [notice, setNotice] = useState<Notice>(null);
  const [busy, setBusy] = useState(false);
  const [draft, setDraft] = useState<Edit | null>(null);
  const [cropDraft, setCropDraft] = useState<CropParams | null>(null);
  const [textDraft, setTextDraft] = useState<TextOverlayParams | null>(null);
  const [selection, setSelection] = useState<Selection>({ start: 0, end: 0 });
  const [time, setTime] = useState(0);
  const [playing, setPlaying] = useState(false);
  const client = useMemo(() => new HistoryClient(id), [id]);
  const media = useRef<HTMLVideoElement | HTMLAudioElement | null>(null);
  const canvas = useRef<HTMLCanvasElement | null>(null);
  const engine = useRef<PreviewEngine | null>(null);
  const setMedia = useCallback((el: HTMLVideoElement | HTMLAudioElement | null) => {
    media.current = el;
  }, []);

  const load = useCallback(async () => {
    try {
      const r = await api<Recording>('GET', `/api/recordings/${id}`);
      setRec(r);
      if (r.status === 'processing') return;
      const h = await client.load();
      setSelection((s) => (s.end > 0 ? s : { start: 0, end: h.media.durationSeconds }));
      setLoadError(null);
    } catch (e) {
      setLoadError({ message: errorText(e), code: e instanceof ApiError ? e.code : 'ERROR' });
    }
  }, [id, client]);
  useEffect(() => void load(), [load]);
  useInterval(() => void load(), 2000, rec?.status === 'processing');

  useEffect(
    () =>
      client.subscribe((e) => {
        if (e.kind === 'error') return setNotice({ kind: 'error', text: e.error.message });
        setHistory(e.history);
        if (e.kind === 'conflict') setNotice({ kind: 'conflict', text: CONFLICT_WORDS });
      }),
    [client],
  );
  // Back from another tab or device: show what the server holds now.
  useEffect(() => {
    const onVisible = () => {
      if (document.visibilityState === 'visible' && client.history) void client.load().catch(() => undefined);
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => document.removeEventListener('visibilitychange', onVisible);
  }, [client]);

  const change = useCallback(async (run: () => Promise<EditHistory | null>) => {
    setBusy(true);
    setNotice(null);
    try {
      return (await run()) !== null;
    } finally {
      setBusy(false);
    }
  }, []);
  const edit = useCallback((e: Edit) => change(() => client.apply(e)), [change, client]);
  const undo = useCallback(() => void change(() => client.undo()), [change, client]);
  const redo = useCallback(() => void change(() => client.redo()), [change, client]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const which = historyKey(e);
      if (!which || !client.history) return;
      e.preventDefault();
      if (which === 'undo' ? client.history.canUndo : client.history.canRedo) (which === 'undo' ? undo : redo)();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [client, undo, redo]);

  const shown = useMemo(
    () => (history ? previewState(history.state, draft, textDraft) : null),
    [history, draft, textDraft],
  );
  const hasMedia = Boolean(rec?.mediaUrl && history);
  useEffect(() => {
    const el = media.current;
    if (!hasMedia || !el || !shown) return;
    engine.current ??= new PreviewEngine(el, canvas.current, shown);
  }, [hasMedia, shown]);
  useEffect(() => {
    if (shown) engine.current?.update(shown, { fullFrame: cropDraft !== null });
  }, [shown, cropDraft]);
  useEffect(
    () => () => {
      engine.current?.destroy();
      engine.current = null;
    },
    [],
  );

  if (loadError) {
    const notFound = loadError.code === 'NOT_FOUND' || loadError.code === 'RECORDING_NOT_FOUND';
    return (
      <section>
        <h1>{notFound ? 'Recording not found' : 'The editor could not open'}</h1>
        <p role="alert">{notFound ? 'It was deleted, or it belongs to someone else.' : loadError.message}</p>
        <Link to={`/recordings/${id}`}>Back to the recording</Link>
      </section>
    );
  }
  if (!rec) return <p role="status">Loading…</p>;
  if (rec.canEdit === false) {
    return (
      <section>
        <h1>{rec.title}</h1>
        <p role="alert">You can watch this recording but not edit it.</p>
        <Link to={`/recordings/${id}`}>Back to the recording</Link>
      </section>
    );
  }
  if (rec.status === 'processing' || !history || !shown) {
    return (
      <section>
        <h1>Edit “{rec.title}”</h1>
        <p role="status">
          {rec.status === 'processing'
            ? 'The recording is still being processed; the editor opens when it is done.'
            : 'Loading…'}
        </p>
      </section>
    );
  }

  const audioOnly = history.media.width === null || history.media.height === null;
  const frame = { width: history.media.width ?? 0, height: history.media.height ?? 0 };
  const duration = history.media.durationSeconds;
  const stageFrame = cropDraft ? frame : (shown.crop ?? frame);
  // Always the original, whichever version is current (a render makes its version current when it is
  // done): the editor edits the original's timeline.
  const src = rec.mediaUrl ? `${rec.mediaUrl}${rec.mediaUrl.includes('?') ? '&' : '?'}version=original` : null;
  const mediaProps = {
    src: src ?? undefined,
    preload: 'auto',
    'data-testid': 'editor-media',
    onTimeUpdate: (e: { currentTarget: HTMLMediaElement }) => setTime(e.currentTarget.currentTime),
    onSeeked: (e: { currentTarget: HTMLMediaElement }) => setTime(e.currentTarget.currentTime),
    onPlay: () => setPlaying(true),
    onPause: () => setPlaying(false),
  };
  const togglePlay = () => {
    const el = media.current;
    if (!el) return;
    if (el.paused) void el.play().catch((e) => setNotice({ kind: 'error', text: errorText(e) }));
    else el.pause();
  };
  const seek = (t: number) => {
    if (media.current) media.current.currentTime = t;
  };

  return (
    <article className="editor-page">
      <p className="crumbs">
        <Link to={`/recordings/${id}`}>Back to the recording</Link>
      </p>
      <h1>Edit “{rec.title}”</h1>
      {notice && (
        <p className={`notice ${notice.kind === 'error' ? 'error' : 'warn'}`} role="alert">
          {notice.text}
        </p>
      )}
      <div className="editor-layout">
        <div className="editor-main">
          {audioOnly ? (
            <audio ref={setMedia} {...mediaProps} className="editor-source-audio" />
          ) : (
            <div
              className="editor-stage"
              style={{
                aspectRatio: `${stageFrame.width} / ${stageFrame.height}`,
                // as tall as 70% of the window at most, whatever the frame's shape
                maxWidth: `calc(70vh * ${stageFrame.width / stageFrame.height})`,
              }}
            >
              <canvas ref={canvas} data-testid="preview" aria-label="Preview of the edited recording" />
              {cropDraft && <CropBox crop={cropDraft} frame={frame} onChange={setCropDraft} />}
              {textDraft && !cropDraft && <TextHandle text={textDraft} onChange={setTextDraft} />}
              <video ref={setMedia} {...mediaProps} className="editor-source" playsInline />
            </div>
          )}
          <div className="editor-transport">
            <button type="button" onClick={togglePlay}>
              {playing ? 'Pause' : 'Play'}
            </button>
            <span data-testid="editor-clock">
              {clock(outputTime(shown.keep, time))} / {clock(keptSeconds(shown))}
            </span>
          </div>
          <Timeline
            duration={duration}
            keep={shown.keep}
            time={time}
            selection={selection}
            onSelect={setSelection}
            onSeek={seek}
            onEdit={edit}
            busy={busy}
          />
          <div className="editor-panels">
            {!audioOnly && (
              <CropPanel
                frame={frame}
                current={history.state.crop}
                draft={cropDraft}
                onDraft={setCropDraft}
                onEdit={edit}
                busy={busy}
              />
            )}
            {!audioOnly && (
              <FilterPanel state={history.state} draft={draft} onDraft={setDraft} onEdit={edit} busy={busy} />
            )}
            {!audioOnly && (
              <TextPanel
                draft={textDraft}
                duration={duration}
                time={time}
                onDraft={setTextDraft}
                onEdit={edit}
                busy={busy}
              />
            )}
            <AudioPanel
              key={`${history.state.audio.fadeIn}-${history.state.audio.fadeOut}`}
              state={history.state}
              draft={draft}
              onDraft={setDraft}
              onEdit={edit}
              busy={busy}
            />
          </div>
        </div>
        <aside className="editor-side">
          <HistoryPanel history={history} busy={busy} onUndo={undo} onRedo={redo} />
          <VersionsPanel
            recordingId={id}
            revision={history.revision}
            canRender={history.edits.some((e) => e.state === 'active')}
            originalDuration={duration}
            onCurrentChanged={() => void load()}
          />
        </aside>
      </div>
    </article>
  );
}
