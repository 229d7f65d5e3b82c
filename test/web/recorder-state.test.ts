// @vitest-environment node
/**
 * The Recorder state machine in Node, driven by a scripted MediaRecorder (browser event order: the last
 * dataavailable, then stop, as later tasks) and a manual clock, so every number below is exact.
 */
import { describe, expect, it } from 'vitest';
import { deviceLost, screenShareStopped, type MediaProblem } from '../../src/web/recorder/errors.ts';
import { Recorder, type MediaRecorderLike, type RecorderEvents } from '../../src/web/recorder/recorder.ts';
import { firstByteAlone, notMedia, type SliceShaper, testSliceShaper } from '../../src/web/recorder/test-slices.ts';

/** A MediaRecorder whose slices and stop are driven by the test, with the browser's event order. */
class ScriptedMediaRecorder extends EventTarget implements MediaRecorderLike {
  state: 'inactive' | 'recording' | 'paused' = 'inactive';
  timeslice: number | undefined;
  calls: string[] = [];
  constructor(
    readonly options: MediaRecorderOptions,
    readonly reportedMime: string,
    readonly finalBytes = 7,
  ) {
    super();
  }
  get mimeType() {
    return this.state === 'inactive' && this.calls.length === 0 ? '' : this.reportedMime;
  }
  start(timeslice?: number) {
    this.timeslice = timeslice;
    this.state = 'recording';
    this.calls.push('start');
  }
  pause() {
    this.state = 'paused';
    this.calls.push('pause');
  }
  resume() {
    this.state = 'recording';
    this.calls.push('resume');
  }
  stop() {
    this.calls.push('stop');
    this.state = 'inactive';
    // As in browsers: the last dataavailable and then stop, both as later tasks.
    setTimeout(() => {
      this.slice(this.finalBytes);
      setTimeout(() => this.dispatchEvent(new Event('stop')), 5);
    }, 5);
  }
  /** A slice of `bytes` zero bytes, or of these bytes. */
  slice(bytes: number | Uint8Array<ArrayBuffer>) {
    const data = new Blob([typeof bytes === 'number' ? new Uint8Array(bytes) : bytes]);
    this.dispatchEvent(Object.assign(new Event('dataavailable'), { data }));
  }
  fail(name: string) {
    // Spec order: inactive first, then error, then the last dataavailable and stop.
    this.state = 'inactive';
    this.dispatchEvent(Object.assign(new Event('error'), { error: new DOMException('encoder died', name) }));
    setTimeout(() => {
      this.slice(3);
      this.dispatchEvent(new Event('stop'));
    }, 5);
  }
  /** Every track ended: browsers stop the recorder on their own. */
  selfStop() {
    this.state = 'inactive';
    this.slice(2);
    this.dispatchEvent(new Event('stop'));
  }
}

function setup(
  opts: {
    mode?: 'camera' | 'audio' | 'slides';
    reportedMime?: string;
    timesliceMs?: number;
    deck?: FakeDeck;
    sliceShaper?: SliceShaper;
  } = {},
) {
  let now = 0;
  const sleeps: number[] = [];
  const made: ScriptedMediaRecorder[] = [];
  let endedCb: ((p: MediaProblem) => void) | undefined;
  const rec = new Recorder({
    sources: {
      stream: {} as MediaStream,
      onEnded: (cb) => {
        endedCb = cb;
      },
      slides: opts.deck as never,
    },
    quality: 'medium',
    mode: opts.mode ?? 'camera',
    timesliceMs: opts.timesliceMs,
    clock: () => now,
    isTypeSupported: (t) => t !== 'video/webm;codecs=vp9,opus',
    sleep: async (ms) => void sleeps.push(ms),
    ...(opts.sliceShaper ? { sliceShaper: opts.sliceShaper } : {}),
    mediaRecorderFactory: (_stream, options) => {
      const mr = new ScriptedMediaRecorder(options, opts.reportedMime ?? 'video/webm;codecs=vp8,opus');
      made.push(mr);
      return mr;
    },
  });
  const log: string[] = [];
  const chunks: RecorderEvents['chunk'][] = [];
  const stopped: RecorderEvents['stopped'][] = [];
  const errors: MediaProblem[] = [];
  rec.on('state', (s) => log.push(`state:${s}`));
  rec.on('countdown', (n) => log.push(`countdown:${n}`));
  rec.on('chunk', (c) => {
    chunks.push(c);
    log.push(`chunk:${c.seq}`);
  });
  rec.on('stopped', (s) => {
    stopped.push(s);
    log.push('stopped');
  });
  rec.on('error', (p) => {
    errors.push(p);
    log.push(`error:${p.code}`);
  });
  return {
    rec,
    made,
    log,
    chunks,
    stopped,
    errors,
    sleeps,
    mr: () => made[0]!,
    tick: (ms: number) => {
      now += ms;
    },
    end: (p: MediaProblem) => endedCb!(p),
  };
}

class FakeDeck {
  index = 0;
  listeners = new Set<(i: number) => void>();
  onChange(cb: (i: number) => void) {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }
  goTo(i: number) {
    this.index = i;
    for (const cb of this.listeners) cb(i);
  }
}

describe('Recorder', () => {
  it('counts down 3, 2, 1 a second apart, then records with the quality and the best mime', async () => {
    const t = setup();
    expect(t.rec.state).toBe('idle');
    expect(t.rec.mimeType).toBe('video/webm;codecs=vp8,opus'); // vp9 is "unsupported" in this setup
    await t.rec.start();
    expect(t.log).toEqual(['state:countdown', 'countdown:3', 'countdown:2', 'countdown:1', 'state:recording']);
    expect(t.sleeps).toEqual([1000, 1000, 1000]);
    expect(t.made).toHaveLength(1);
    expect(t.mr().options).toEqual({
      mimeType: 'video/webm;codecs=vp8,opus',
      audioBitsPerSecond: 96_000,
      videoBitsPerSecond: 2_500_000,
    });
    expect(t.mr().timeslice).toBe(1000);
    await expect(t.rec.start()).rejects.toThrow('cannot start a recorder that is recording');
  });

  it('audio mode asks for an audio type and no video bitrate; mimeType is what MediaRecorder reports', async () => {
    const t = setup({ mode: 'audio', reportedMime: 'audio/webm;codecs=opus', timesliceMs: 250 });
    await t.rec.start(0);
    expect(t.log).toEqual(['state:recording']);
    expect(t.mr().options).toEqual({ mimeType: 'audio/webm;codecs=opus', audioBitsPerSecond: 96_000 });
    expect(t.mr().timeslice).toBe(250);
    const s = setup({ reportedMime: 'video/x-matroska;codecs=avc1,opus' });
    await s.rec.start(0);
    expect(s.rec.mimeType).toBe('video/x-matroska;codecs=avc1,opus');
  });

  it('numbers non-empty slices, excludes paused time, and stop() resolves after the last slice', async () => {
    const t = setup();
    await t.rec.start(0);
    t.tick(1000);
    t.mr().slice(100);
    t.mr().slice(0); // empty slices are dropped and do not use a number
    t.tick(500);
    t.rec.pause();
    expect(t.rec.state).toBe('paused');
    t.tick(3000); // paused: not counted
    expect(t.rec.elapsedMs()).toBe(1500);
    t.rec.resume();
    t.tick(500);
    t.mr().slice(120);
    t.tick(100);
    expect(t.rec.elapsedMs()).toBe(2100);
    const stopping = t.rec.stop();
    expect(t.rec.stop()).toBe(stopping); // a second stop() is the same take ending
    t.tick(5000); // time after stop() is not part of the take
    let resolvedAfter = -1;
    const res = await stopping.then((r) => {
      resolvedAfter = t.log.length;
      return r;
    });
    expect(res).toEqual({ durationMs: 2100 });
    expect(t.chunks.map((c) => [c.seq, c.data.size, c.elapsedMs])).toEqual([
      [0, 100, 1000],
      [1, 120, 2000],
      [2, 7, 2100],
    ]);
    expect(t.log.slice(-3)).toEqual(['chunk:2', 'state:stopped', 'stopped']);
    expect(resolvedAfter).toBe(t.log.length);
    expect(t.stopped).toEqual([{ durationMs: 2100, mimeType: 'video/webm;codecs=vp8,opus', reason: 'user' }]);
    expect(t.mr().calls).toEqual(['start', 'pause', 'resume', 'stop']);
    expect(t.rec.state).toBe('stopped');
    expect(t.rec.elapsedMs()).toBe(2100);
  });

  it('stop() while paused ends the take at the paused time', async () => {
    const t = setup();
    await t.rec.start(0);
    t.tick(800);
    t.rec.pause();
    t.tick(10_000);
    expect(await t.rec.stop()).toEqual({ durationMs: 800 });
  });

  it('a source that ends mid-take stops it with that reason and keeps the last slice', async () => {
    const t = setup();
    await t.rec.start(0);
    t.tick(1200);
    t.mr().slice(50);
    t.end(screenShareStopped());
    await new Promise((r) => setTimeout(r, 30));
    expect(t.rec.state).toBe('stopped');
    expect(t.chunks.map((c) => c.seq)).toEqual([0, 1]);
    expect(t.stopped).toEqual([
      { durationMs: 1200, mimeType: 'video/webm;codecs=vp8,opus', reason: screenShareStopped() },
    ]);
    expect(await t.rec.stop()).toEqual({ durationMs: 1200 });
  });

  it('a source that ends during the countdown fails the take without recording', async () => {
    const t = setup();
    let n = 0;
    const started = t.rec.start(3);
    t.rec.on('countdown', () => void (n++ === 0 && t.end(deviceLost('camera'))));
    await started;
    expect(t.made).toHaveLength(0);
    expect(t.rec.state).toBe('failed');
    expect(t.errors).toEqual([deviceLost('camera')]);
    expect(t.stopped).toEqual([]);
  });

  it('stop() during the countdown cancels it: stopped, 0 ms, no MediaRecorder', async () => {
    const t = setup();
    const started = t.rec.start(3);
    expect(t.rec.state).toBe('countdown');
    expect(await t.rec.stop()).toEqual({ durationMs: 0 });
    await started;
    expect(t.made).toHaveLength(0);
    expect(t.stopped).toEqual([{ durationMs: 0, mimeType: 'video/webm;codecs=vp8,opus', reason: 'user' }]);
    expect(t.rec.state).toBe('stopped');
  });

  it('a MediaRecorder error keeps what was recorded and ends in failed', async () => {
    const t = setup();
    await t.rec.start(0);
    t.tick(1000);
    t.mr().slice(10);
    t.tick(300);
    t.mr().fail('UnknownError');
    await new Promise((r) => setTimeout(r, 30));
    expect(t.rec.state).toBe('failed');
    expect(t.log.filter((l) => !l.startsWith('state:recording'))).toEqual([
      'chunk:0',
      'error:unknown',
      'chunk:1',
      'state:failed',
      'stopped',
    ]);
    expect(t.stopped[0]!.durationMs).toBe(1300);
    expect((t.stopped[0]!.reason as MediaProblem).message).toContain('encoder died');
  });

  it('a MediaRecorder that stops by itself ends the take with a reason', async () => {
    const t = setup();
    await t.rec.start(0);
    t.tick(700);
    t.mr().selfStop();
    expect(t.rec.state).toBe('stopped');
    expect(t.stopped[0]).toMatchObject({ durationMs: 700, reason: { code: 'unknown' } });
    expect(t.chunks).toHaveLength(1);
  });

  it('records slide changes from the deck at elapsed times, without repeats, until stopped', async () => {
    const deck = new FakeDeck();
    deck.goTo(2); // before recording: only the last one counts, at 0 ms
    const t = setup({ mode: 'slides', deck });
    deck.goTo(1);
    await t.rec.start(0);
    t.tick(1500);
    deck.goTo(2);
    t.rec.markSlide(2); // the UI marking the same change again is ignored
    t.rec.pause();
    t.tick(4000);
    t.rec.resume();
    t.tick(500);
    deck.goTo(3);
    const stopping = t.rec.stop();
    deck.goTo(4); // after stop(): not part of the take
    await stopping;
    expect(t.rec.slideChanges).toEqual([
      { index: 1, atMs: 0 },
      { index: 2, atMs: 1500 },
      { index: 3, atMs: 2000 },
    ]);
    expect(deck.listeners.size).toBe(0);
  });

  it('on() returns an unsubscribe function; a throwing listener does not break the others', async () => {
    const t = setup();
    const seen: number[] = [];
    const off = t.rec.on('countdown', (n) => seen.push(n));
    t.rec.on('countdown', () => {
      throw new Error('listener bug');
    });
    const origError = console.error;
    console.error = () => {};
    try {
      t.rec.on('countdown', (n) => void (n === 2 && off()));
      await t.rec.start(3);
    } finally {
      console.error = origError;
    }
    expect(seen).toEqual([3, 2]);
    expect(t.rec.state).toBe('recording');
  });
});

const bytesOf = async (b: Blob) => [...new Uint8Array(await b.arrayBuffer())];

describe('test-only slice shapes (window.__recorderTestSlices)', () => {
  const webmStart = new Uint8Array([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81]);

  it("'first-byte-alone': the first slice's first byte goes alone, its rest with the next slice", async () => {
    const t = setup({ sliceShaper: firstByteAlone() });
    await t.rec.start(0);
    t.mr().slice(webmStart);
    expect(t.chunks).toHaveLength(1);
    expect(await bytesOf(t.chunks[0]!.data)).toEqual([0x1a]);
    t.mr().slice(new Uint8Array([1, 2]));
    await t.rec.stop();
    expect(t.chunks.map((c) => c.seq)).toEqual([0, 1, 2]);
    expect(await bytesOf(t.chunks[1]!.data)).toEqual([...webmStart.subarray(1), 1, 2]);
    expect(t.chunks[2]!.data.size).toBe(7); // the last slice, untouched
    expect(t.log.at(-1)).toBe('stopped');
  });

  it('a held rest is emitted before `stopped` when no slice follows', async () => {
    const shaper = firstByteAlone();
    expect(shaper.shape(new Blob([webmStart])).map((b) => b.size)).toEqual([1]);
    expect(await bytesOf(shaper.flush()[0]!)).toEqual([...webmStart.subarray(1)]);
    expect(shaper.flush()).toEqual([]);
  });

  it("'not-media': the first slice starts with %PDF- (same length); later slices are untouched", async () => {
    const shaper = notMedia();
    const [first] = shaper.shape(new Blob([webmStart]));
    expect(new TextDecoder().decode(new Uint8Array(await first!.arrayBuffer()).subarray(0, 5))).toBe('%PDF-');
    expect(first!.size).toBe(webmStart.byteLength);
    const second = new Blob([webmStart]);
    expect(shaper.shape(second)).toEqual([second]);
  });

  it('is read from window.__recorderTestSlices, and absent unless a test sets it', () => {
    expect(testSliceShaper()).toBeUndefined();
    const g = globalThis as { window?: unknown };
    g.window = { __recorderTestSlices: 'first-byte-alone' };
    try {
      expect(testSliceShaper()).toBeDefined();
      g.window = { __recorderTestSlices: 'something else' };
      expect(testSliceShaper()).toBeUndefined();
    } finally {
      delete g.window;
    }
  });
});
