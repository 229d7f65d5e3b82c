/**
 * One take: idle → countdown → recording ⇄ paused → stopped (or failed). Wraps MediaRecorder with
 * ~1 s slices and numbers them, so the persistence layer can write each one away as it arrives, and
 * keeps the elapsed time without paused stretches (the take's duration).
 *
 * Every started take ends with exactly one `stopped` event, also when it ends because a source went away
 * or MediaRecorder failed: what was recorded until then is a valid file. stop() during the countdown
 * cancels it (`stopped` with durationMs 0, no chunks). A failure before MediaRecorder ran (a source ended
 * during the countdown, MediaRecorder refused to start) emits only `error` and leaves state `failed`.
 */
import { describeMediaError, type MediaProblem } from './errors.ts';
import { pickMimeType } from './mime.ts';
import { MODES, type RecordingMode } from './modes.ts';
import { QUALITY, type Quality } from './quality.ts';
import type { Sources } from './sources.ts';
import { type SliceShaper, testSliceShaper } from './test-slices.ts';

export type RecorderState = 'idle' | 'countdown' | 'recording' | 'paused' | 'stopped' | 'failed';

export interface RecorderEvents {
  state: RecorderState;
  countdown: number;
  chunk: { data: Blob; seq: number; elapsedMs: number };
  stopped: { durationMs: number; mimeType: string; reason: 'user' | MediaProblem };
  error: MediaProblem;
}

/** The part of MediaRecorder the Recorder uses; the browser's MediaRecorder is one. */
export interface MediaRecorderLike extends EventTarget {
  readonly state: 'inactive' | 'recording' | 'paused';
  readonly mimeType: string;
  start(timeslice?: number): void;
  pause(): void;
  resume(): void;
  stop(): void;
}

export type MediaRecorderFactory = (stream: MediaStream, options: MediaRecorderOptions) => MediaRecorderLike;

export interface RecorderOptions {
  /** Only `stream`, `onEnded`, `wake` and `slides` are used. */
  sources: Pick<Sources, 'stream' | 'onEnded'> & Partial<Pick<Sources, 'wake' | 'slides'>>;
  quality: Quality;
  mode: RecordingMode;
  timesliceMs?: number;
  /** Milliseconds, monotonic. Default performance.now. */
  clock?: () => number;
  /** Default: the browser's MediaRecorder. Tests pass their own. */
  mediaRecorderFactory?: MediaRecorderFactory;
  /** Default: MediaRecorder.isTypeSupported. */
  isTypeSupported?: (t: string) => boolean;
  /** Waits between countdown numbers. Default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  /** TEST-ONLY: reshapes the slices (test-slices.ts). Default: what a test set on `window`, else none. */
  sliceShaper?: SliceShaper;
}

const STOP_EVENT_TIMEOUT_MS = 5000;

type Listeners = { [K in keyof RecorderEvents]: Set<(v: RecorderEvents[K]) => void> };

const defaultFactory: MediaRecorderFactory = (stream, options) => {
  try {
    return new MediaRecorder(stream, options);
  } catch (err) {
    // A browser that lists a type but refuses it with these tracks: let it choose its own.
    if ((err as { name?: string }).name !== 'NotSupportedError' || !options.mimeType) throw err;
    const { mimeType: _ignored, ...rest } = options;
    return new MediaRecorder(stream, rest);
  }
};

export class Recorder {
  #o: RecorderOptions;
  #clock: () => number;
  #state: RecorderState = 'idle';
  #mr: MediaRecorderLike | undefined;
  #mimeType: string;
  #seq = 0;
  #accumulatedMs = 0;
  #segmentStart = 0;
  #finalMs: number | undefined;
  #stopReason: 'user' | MediaProblem = 'user';
  #failure: MediaProblem | undefined;
  #stopPromise: Promise<{ durationMs: number }> | undefined;
  #resolveStop: ((v: { durationMs: number }) => void) | undefined;
  #countdownCancelled = false;
  #stopFallback: ReturnType<typeof setTimeout> | undefined;
  #slideChanges: { index: number; atMs: number }[] = [];
  #pendingSlide: number | undefined;
  #unsubscribeSlides: (() => void) | undefined;
  #sliceShaper: SliceShaper | undefined;
  #listeners: Listeners = {
    state: new Set(),
    countdown: new Set(),
    chunk: new Set(),
    stopped: new Set(),
    error: new Set(),
  };

  constructor(o: RecorderOptions) {
    this.#o = o;
    this.#clock = o.clock ?? (() => performance.now());
    this.#mimeType = pickMimeType(MODES[o.mode].video, o.isTypeSupported);
    this.#sliceShaper = o.sliceShaper ?? testSliceShaper();
    o.sources.onEnded((p) => this.#sourceEnded(p));
    const deck = o.sources.slides;
    if (deck) {
      this.#pendingSlide = deck.index;
      this.#unsubscribeSlides = deck.onChange((i) => this.markSlide(i));
    }
  }

  get state(): RecorderState {
    return this.#state;
  }

  /** The chosen type before start; what MediaRecorder reports once it runs. */
  get mimeType(): string {
    return this.#mr?.mimeType || this.#mimeType;
  }

  get slideChanges(): { index: number; atMs: number }[] {
    return this.#slideChanges.map((c) => ({ ...c }));
  }

  elapsedMs(): number {
    if (this.#finalMs !== undefined) return this.#finalMs;
    if (this.#state === 'recording') return this.#accumulatedMs + (this.#clock() - this.#segmentStart);
    return this.#accumulatedMs;
  }

  on<K extends keyof RecorderEvents>(ev: K, cb: (v: RecorderEvents[K]) => void): () => void {
    const set = this.#listeners[ev] as Set<(v: RecorderEvents[K]) => void>;
    set.add(cb);
    return () => set.delete(cb);
  }

  /** Counts down (one `countdown` event per second), then starts MediaRecorder. */
  async start(countdownSeconds = 3): Promise<void> {
    if (this.#state !== 'idle') throw new Error(`cannot start a recorder that is ${this.#state}`);
    const sleep = this.#o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const seconds = Math.max(0, Math.trunc(countdownSeconds));
    if (seconds > 0) this.#setState('countdown');
    // The click on "Start" is the user gesture that lets a suspended AudioContext run.
    void this.#o.sources.wake?.();
    for (let n = seconds; n >= 1; n--) {
      this.#emit('countdown', n);
      await sleep(1000);
      if (this.#countdownCancelled || (this.#state as RecorderState) !== 'countdown') return;
    }
    this.#begin();
  }

  pause(): void {
    if (this.#state !== 'recording' || !this.#mr) return;
    this.#mr.pause();
    this.#accumulatedMs += this.#clock() - this.#segmentStart;
    this.#setState('paused');
  }

  resume(): void {
    if (this.#state !== 'paused' || !this.#mr) return;
    this.#mr.resume();
    this.#segmentStart = this.#clock();
    this.#setState('recording');
  }

  /** Ends the take; resolves once the last chunk has been emitted. During the countdown: cancels it. */
  stop(): Promise<{ durationMs: number }> {
    return this.#stop('user');
  }

  /** Records that slide `index` is shown from now on (consecutive repeats are ignored). */
  markSlide(index: number): void {
    if (this.#state === 'idle' || this.#state === 'countdown') {
      this.#pendingSlide = index;
      return;
    }
    // After stop() the state stays `recording` until the last slice arrives; the take has ended though.
    if ((this.#state !== 'recording' && this.#state !== 'paused') || this.#finalMs !== undefined) return;
    if (this.#slideChanges.at(-1)?.index === index) return;
    this.#slideChanges.push({ index, atMs: Math.round(this.elapsedMs()) });
  }

  #begin(): void {
    const q = QUALITY[this.#o.quality];
    const video = MODES[this.#o.mode].video;
    const options: MediaRecorderOptions = {
      ...(this.#mimeType ? { mimeType: this.#mimeType } : {}),
      audioBitsPerSecond: q.audioBitsPerSecond,
      ...(video ? { videoBitsPerSecond: q.videoBitsPerSecond } : {}),
    };
    let mr: MediaRecorderLike;
    try {
      mr = (this.#o.mediaRecorderFactory ?? defaultFactory)(this.#o.sources.stream, options);
      mr.addEventListener('dataavailable', (e) => this.#onData((e as BlobEvent).data));
      mr.addEventListener('error', (e) => this.#onRecorderError(e));
      mr.addEventListener('stop', () => this.#onRecorderStop());
      this.#mr = mr;
      mr.start(this.#o.timesliceMs ?? 1000);
    } catch (err) {
      this.#fail(describeMediaError(err, video ? 'camera' : 'microphone'));
      return;
    }
    this.#segmentStart = this.#clock();
    this.#setState('recording');
    if (this.#pendingSlide !== undefined) {
      this.#slideChanges.push({ index: this.#pendingSlide, atMs: 0 });
      this.#pendingSlide = undefined;
    }
  }

  #onData(data: Blob | undefined): void {
    if (!data || data.size === 0) return;
    for (const slice of this.#sliceShaper?.shape(data) ?? [data]) this.#emitChunk(slice);
  }

  #emitChunk(data: Blob): void {
    this.#emit('chunk', { data, seq: this.#seq++, elapsedMs: Math.round(this.elapsedMs()) });
  }

  #onRecorderError(e: Event): void {
    const err = (e as Event & { error?: unknown }).error ?? e;
    const problem = describeMediaError(err, MODES[this.#o.mode].video ? 'camera' : 'microphone');
    this.#failure = problem;
    this.#emit('error', problem);
    // The browser then stops the recorder itself (last dataavailable, then stop); the take so far is kept.
    if (this.#state === 'recording' || this.#state === 'paused') void this.#stop(problem);
  }

  /** The `stop` event comes after the last `dataavailable`: only now is the take complete. */
  #onRecorderStop(): void {
    if (this.#state === 'stopped' || this.#state === 'failed') return;
    if (this.#finalMs === undefined) {
      // The browser stopped on its own (every track ended): treat like a source that went away.
      this.#freeze();
      if (this.#stopReason === 'user') {
        this.#stopReason = this.#failure ?? {
          code: 'unknown',
          message: 'The recording stopped because its sources ended. Everything recorded until then is kept.',
        };
      }
    }
    this.#finish();
  }

  #sourceEnded(problem: MediaProblem): void {
    if (this.#state === 'countdown') {
      this.#countdownCancelled = true;
      this.#fail(problem);
    } else if (this.#state === 'recording' || this.#state === 'paused') {
      void this.#stop(problem);
    }
  }

  #stop(reason: 'user' | MediaProblem): Promise<{ durationMs: number }> {
    if (this.#stopPromise) return this.#stopPromise;
    if (this.#state === 'idle') return Promise.reject(new Error('cannot stop a recorder that was not started'));
    this.#stopReason = reason;
    this.#stopPromise = new Promise((resolve) => (this.#resolveStop = resolve));
    if (this.#state === 'countdown') {
      this.#countdownCancelled = true;
      this.#finalMs = 0;
      this.#finish();
    } else if (this.#state === 'failed' || this.#state === 'stopped') {
      this.#resolveStop?.({ durationMs: this.elapsedMs() });
    } else {
      this.#freeze();
      // An inactive recorder here has stopped by itself and its `stop` event is still queued.
      if (this.#mr && this.#mr.state !== 'inactive') this.#mr.stop();
      // Never leave the caller hanging if a browser loses the `stop` event (seen after GPU process crashes).
      this.#stopFallback = setTimeout(() => {
        if (this.#state === 'recording' || this.#state === 'paused') this.#finish();
      }, STOP_EVENT_TIMEOUT_MS);
    }
    return this.#stopPromise;
  }

  #freeze(): void {
    if (this.#finalMs !== undefined) return;
    if (this.#state === 'recording') this.#accumulatedMs += this.#clock() - this.#segmentStart;
    this.#finalMs = Math.round(this.#accumulatedMs);
  }

  #finish(): void {
    clearTimeout(this.#stopFallback);
    const durationMs = this.elapsedMs();
    for (const slice of this.#sliceShaper?.flush() ?? []) this.#emitChunk(slice);
    this.#unsubscribeSlides?.();
    this.#setState(this.#failure ? 'failed' : 'stopped');
    this.#emit('stopped', { durationMs, mimeType: this.mimeType, reason: this.#failure ?? this.#stopReason });
    if (!this.#stopPromise) this.#stopPromise = Promise.resolve({ durationMs });
    this.#resolveStop?.({ durationMs });
    this.#resolveStop = undefined;
  }

  /** Failed before anything was recorded (countdown, or MediaRecorder refused to start): no `stopped`. */
  #fail(problem: MediaProblem): void {
    this.#failure = problem;
    this.#finalMs = 0;
    this.#unsubscribeSlides?.();
    this.#setState('failed');
    this.#emit('error', problem);
    this.#stopPromise = Promise.resolve({ durationMs: 0 });
  }

  #setState(s: RecorderState): void {
    if (this.#state === s) return;
    this.#state = s;
    this.#emit('state', s);
  }

  #emit<K extends keyof RecorderEvents>(ev: K, v: RecorderEvents[K]): void {
    for (const cb of [...this.#listeners[ev]] as ((v: RecorderEvents[K]) => void)[]) {
      try {
        cb(v);
      } catch (err) {
        console.error(`recorder ${ev} listener failed`, err);
      }
    }
  }
}
