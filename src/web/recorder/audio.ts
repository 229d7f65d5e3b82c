/**
 * Audio for a take: the level meter, and the mix when there is more than one source (screen/system
 * audio + microphone). One AudioContext per take; MediaRecorder records exactly one audio track, so
 * several inputs must be summed into a MediaStreamAudioDestinationNode.
 *
 * A single track is recorded as is, not routed through Web Audio: that keeps its native sample rate and
 * keeps the recording independent of the AudioContext, which browsers may create suspended (autoplay
 * policy) and which would then emit silence. The meter is only a display, so it can wait for a click.
 */
export interface LevelMeter {
  /** RMS level of the recorded audio, 0..1 (already scaled so normal speech reads about 0.3–0.7). */
  level(): number;
  stop(): void;
}

export interface AudioMix {
  /** The one audio track to record, or undefined when there is no audio at all. */
  track: MediaStreamTrack | undefined;
  levels: LevelMeter | undefined;
  /** Resumes a suspended AudioContext (call from a click handler); harmless when running. */
  wake(): Promise<void>;
  stop(): void;
}

const WAKE_EVENTS = ['pointerdown', 'keydown'] as const;

export function mixAudio(tracks: MediaStreamTrack[]): AudioMix {
  const live = tracks.filter((t) => t.kind === 'audio' && t.readyState === 'live');
  if (live.length === 0) {
    return { track: undefined, levels: undefined, wake: async () => {}, stop: () => {} };
  }
  const Ctx =
    globalThis.AudioContext ??
    (globalThis as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
  if (!Ctx) {
    // No Web Audio: record the first track, no meter, no mix. Better a take without system audio than none.
    return { track: live[0], levels: undefined, wake: async () => {}, stop: () => {} };
  }
  const ctx = new Ctx();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 1024;
  const sources = live.map((t) => ctx.createMediaStreamSource(new MediaStream([t])));
  let track: MediaStreamTrack;
  let dest: MediaStreamAudioDestinationNode | undefined;
  if (live.length === 1) {
    track = live[0]!;
    sources[0]!.connect(analyser);
  } else {
    dest = ctx.createMediaStreamDestination();
    for (const s of sources) {
      s.connect(dest);
      s.connect(analyser);
    }
    track = dest.stream.getAudioTracks()[0]!;
  }

  const wake = async () => {
    if (ctx.state === 'suspended') await ctx.resume().catch(() => {});
  };
  // Created without a user gesture the context starts suspended; the next click or key press wakes it.
  const onGesture = () => void wake();
  if (ctx.state === 'suspended' && typeof document !== 'undefined') {
    void ctx.resume().catch(() => {});
    for (const ev of WAKE_EVENTS) document.addEventListener(ev, onGesture, { capture: true, passive: true });
  }

  const buf = new Float32Array(analyser.fftSize);
  let stopped = false;
  const levels: LevelMeter = {
    level() {
      if (stopped) return 0;
      analyser.getFloatTimeDomainData(buf);
      let sum = 0;
      for (let i = 0; i < buf.length; i++) sum += buf[i]! * buf[i]!;
      const rms = Math.sqrt(sum / buf.length);
      // Speech RMS is ~0.02–0.2 of full scale; a square-root curve makes it visible on a 0..1 bar.
      return Math.min(1, Math.sqrt(rms * 4));
    },
    stop() {
      stopped = true;
    },
  };

  return {
    track,
    levels,
    wake,
    stop() {
      if (stopped && ctx.state === 'closed') return;
      stopped = true;
      if (typeof document !== 'undefined') {
        for (const ev of WAKE_EVENTS) document.removeEventListener(ev, onGesture, { capture: true });
      }
      for (const s of sources) s.disconnect();
      for (const t of dest?.stream.getTracks() ?? []) t.stop();
      void ctx.close().catch(() => {});
    },
  };
}
