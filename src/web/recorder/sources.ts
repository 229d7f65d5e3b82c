/**
 * Acquires what a take records, per mode: camera/microphone (getUserMedia), the screen
 * (getDisplayMedia), a slide deck; composites the picture when the mode needs a canvas, and reduces all
 * audio to one track. Either everything is acquired, or everything already acquired is released and a
 * MediaProblemError says, in words, what went wrong.
 */
import { mixAudio, type AudioMix, type LevelMeter } from './audio.ts';
import { createCompositor, type Compositor } from './compositor.ts';
import {
  deviceLost,
  describeMediaError,
  MediaProblemError,
  screenShareStopped,
  type MediaProblem,
  type MediaWhat,
} from './errors.ts';
import { MODES, type RecordingMode } from './modes.ts';
import { QUALITY, type Quality } from './quality.ts';
// Type only: pdf.js (~1 MB) stays out of the bundle for modes without slides.
import type { SlideDeck } from './slides.ts';

export interface SourceOptions {
  mode: RecordingMode;
  quality: Quality;
  cameraId?: string;
  micId?: string;
  /** Record the microphone (ignored for `audio`, which always does). */
  mic: boolean;
  /** Required for the slides modes; rendered at the quality's size from now on. */
  slides?: SlideDeck;
}

export interface Sources {
  /** What MediaRecorder records: at most one video and one audio track. */
  stream: MediaStream;
  /** What the page shows while recording: the recorded picture, without audio (no echo). */
  preview: MediaStream;
  /** The camera alone (for a preview of the bubble), in modes that use one. */
  camera?: MediaStream;
  compositor?: Compositor;
  levels?: LevelMeter;
  slides?: SlideDeck;
  mode: RecordingMode;
  quality: Quality;
  /** Browser and track details for the session row: no device ids, nothing secret. */
  deviceInfo: Record<string, unknown>;
  /** Resumes audio processing a browser suspended before the first click; call on "Start". */
  wake(): Promise<void>;
  stop(): void;
  /** Called once when a source ends by itself (screen share stopped, device unplugged); not after stop(). */
  onEnded(cb: (problem: MediaProblem) => void): void;
}

export async function listDevices(): Promise<{ cameras: MediaDeviceInfo[]; mics: MediaDeviceInfo[] }> {
  if (!navigator.mediaDevices?.enumerateDevices) return { cameras: [], mics: [] };
  // Before a permission grant the browser lists at most one of each, without labels.
  const all = await navigator.mediaDevices.enumerateDevices();
  return {
    cameras: all.filter((d) => d.kind === 'videoinput'),
    mics: all.filter((d) => d.kind === 'audioinput'),
  };
}

function micConstraints(micId: string | undefined): MediaTrackConstraints {
  return {
    ...(micId ? { deviceId: { exact: micId } } : {}),
    echoCancellation: true,
    noiseSuppression: true,
    autoGainControl: true,
  };
}

/** The camera is asked for at the take's size when it is the picture, and smaller when it is a bubble. */
function cameraConstraints(cameraId: string | undefined, quality: Quality, bubble: boolean): MediaTrackConstraints {
  const q = QUALITY[quality];
  const w = bubble ? Math.min(640, q.width) : q.width;
  const h = bubble ? Math.min(360, q.height) : q.height;
  return {
    ...(cameraId ? { deviceId: { exact: cameraId } } : {}),
    width: { ideal: w },
    height: { ideal: h },
    frameRate: { ideal: q.frameRate },
  };
}

async function playHidden(stream: MediaStream): Promise<HTMLVideoElement> {
  const v = document.createElement('video');
  v.muted = true;
  v.playsInline = true;
  v.autoplay = true;
  v.srcObject = stream;
  // A muted MediaStream video may play without a gesture; if play() is refused the element still
  // decodes once frames arrive, so do not fail the take over it.
  await Promise.race([v.play().catch(() => {}), new Promise((r) => setTimeout(r, 3000))]);
  return v;
}

function trackInfo(t: MediaStreamTrack): Record<string, unknown> {
  const s = t.getSettings() as MediaTrackSettings & { displaySurface?: string; cursor?: string };
  const picked: Record<string, unknown> = {};
  for (const k of [
    'width',
    'height',
    'frameRate',
    'aspectRatio',
    'sampleRate',
    'channelCount',
    'echoCancellation',
    'noiseSuppression',
    'autoGainControl',
    'displaySurface',
    'facingMode',
  ] as const) {
    if (s[k as keyof typeof s] !== undefined) picked[k] = s[k as keyof typeof s];
  }
  return { kind: t.kind, label: t.label, settings: picked };
}

function collectDeviceInfo(
  mode: RecordingMode,
  quality: Quality,
  parts: Record<string, MediaStreamTrack[]>,
): Record<string, unknown> {
  const nav = navigator as Navigator & { userAgentData?: { platform?: string; mobile?: boolean } };
  const tracks: Record<string, unknown> = {};
  for (const [name, list] of Object.entries(parts)) if (list.length) tracks[name] = list.map(trackInfo);
  return {
    userAgent: nav.userAgent,
    platform: nav.userAgentData?.platform ?? nav.platform,
    mobile: nav.userAgentData?.mobile,
    language: nav.language,
    screen:
      typeof screen !== 'undefined'
        ? { width: screen.width, height: screen.height, pixelRatio: globalThis.devicePixelRatio }
        : undefined,
    mode,
    quality,
    tracks,
  };
}

export async function acquireSources(o: SourceOptions): Promise<Sources> {
  const info = MODES[o.mode];
  const q = QUALITY[o.quality];
  const wantMic = info.mic && (o.mic || !info.micOptional);
  const owned: MediaStream[] = [];
  const cleanups: (() => void)[] = [];
  const releaseAll = () => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        c();
      } catch {
        /* releasing is best effort */
      }
    }
    for (const s of owned.splice(0)) for (const t of s.getTracks()) t.stop();
  };
  function fail(err: unknown, what: MediaWhat): never {
    releaseAll();
    throw new MediaProblemError(describeMediaError(err, what), { cause: err });
  }

  const md = typeof navigator !== 'undefined' ? navigator.mediaDevices : undefined;
  if (!md?.getUserMedia)
    fail(
      new TypeError('navigator.mediaDevices.getUserMedia is missing'),
      info.screen ? 'screen' : info.camera ? 'camera' : 'microphone',
    );
  if (info.screen && !md.getDisplayMedia) fail(new TypeError('getDisplayMedia is missing'), 'screen');
  if (typeof MediaRecorder === 'undefined')
    fail(new TypeError('MediaRecorder is missing'), info.camera ? 'camera' : 'microphone');
  if (info.slides && !o.slides) {
    throw new MediaProblemError({ code: 'unknown', message: 'Open a PDF or a set of images for the slides first.' });
  }

  // The screen first: getDisplayMedia needs the click's user activation, which a camera prompt would use up.
  let screenStream: MediaStream | undefined;
  if (info.screen) {
    try {
      screenStream = await md.getDisplayMedia({
        video: {
          width: { ideal: q.width },
          height: { ideal: q.height },
          frameRate: { ideal: q.frameRate, max: q.frameRate },
        },
        audio: true, // system/tab audio where the browser offers it
        // Chromium hints: offer system audio, do not offer this tab (it would record itself).
        ...({ systemAudio: 'include', selfBrowserSurface: 'exclude', surfaceSwitching: 'include' } as object),
      } as DisplayMediaStreamOptions);
      owned.push(screenStream);
    } catch (err) {
      fail(err, 'screen');
    }
  }

  // Camera and microphone in one request: one permission prompt for both.
  let camStream: MediaStream | undefined;
  let micStream: MediaStream | undefined;
  if (info.camera || wantMic) {
    const what: MediaWhat = info.camera && wantMic ? 'camera and microphone' : info.camera ? 'camera' : 'microphone';
    try {
      const got = await md.getUserMedia({
        video: info.camera ? cameraConstraints(o.cameraId, o.quality, info.composited) : false,
        audio: wantMic ? micConstraints(o.micId) : false,
      });
      owned.push(got);
      if (info.camera) camStream = new MediaStream(got.getVideoTracks());
      if (wantMic) micStream = new MediaStream(got.getAudioTracks());
    } catch (err) {
      fail(err, what);
    }
  }

  let compositor: Compositor | undefined;
  let videoTrack: MediaStreamTrack | undefined;
  let audio: AudioMix;
  try {
    if (info.composited) {
      let base: HTMLVideoElement | HTMLCanvasElement;
      if (screenStream) {
        const sv = await playHidden(new MediaStream(screenStream.getVideoTracks()));
        cleanups.push(() => {
          sv.pause();
          sv.srcObject = null;
        });
        base = sv;
      } else {
        await o.slides!.setSize(q.width, q.height);
        base = o.slides!.canvas;
      }
      let camVideo: HTMLVideoElement | undefined;
      if (camStream) {
        const cv = await playHidden(camStream);
        cleanups.push(() => {
          cv.pause();
          cv.srcObject = null;
        });
        camVideo = cv;
      }
      compositor = createCompositor({
        base,
        camera: camVideo,
        width: q.width,
        height: q.height,
        frameRate: q.frameRate,
      });
      const comp = compositor;
      cleanups.push(() => comp.stop());
      videoTrack = comp.stream.getVideoTracks()[0];
    } else if (screenStream) {
      videoTrack = screenStream.getVideoTracks()[0];
    } else if (camStream) {
      videoTrack = camStream.getVideoTracks()[0];
    }
    audio = mixAudio([...(screenStream?.getAudioTracks() ?? []), ...(micStream?.getAudioTracks() ?? [])]);
    const mix = audio;
    cleanups.push(() => mix.stop());
  } catch (err) {
    fail(err, info.screen ? 'screen' : info.camera ? 'camera' : 'microphone');
  }

  const stream = new MediaStream([...(videoTrack ? [videoTrack] : []), ...(audio.track ? [audio.track] : [])]);
  const preview = info.video ? new MediaStream(videoTrack ? [videoTrack] : []) : stream;

  // Watch the sources: the first one to end by itself ends the take, with the reason.
  let ended: MediaProblem | undefined;
  let stopped = false;
  const endedListeners: ((p: MediaProblem) => void)[] = [];
  const signal = (p: MediaProblem) => {
    if (stopped || ended) return;
    ended = p;
    for (const cb of endedListeners) {
      try {
        cb(p);
      } catch (err) {
        console.error('source ended listener failed', err);
      }
    }
  };
  const watch = (t: MediaStreamTrack | undefined, problem: () => MediaProblem) => {
    if (!t) return;
    const h = () => signal(problem());
    t.addEventListener('ended', h);
    cleanups.push(() => t.removeEventListener('ended', h));
  };
  watch(screenStream?.getVideoTracks()[0], screenShareStopped);
  watch(camStream?.getVideoTracks()[0], () => deviceLost('camera'));
  watch(micStream?.getAudioTracks()[0], () => deviceLost('microphone'));

  const deviceInfo = collectDeviceInfo(o.mode, o.quality, {
    screen: screenStream?.getTracks() ?? [],
    camera: camStream?.getTracks() ?? [],
    microphone: micStream?.getTracks() ?? [],
  });

  return {
    stream,
    preview,
    camera: camStream,
    compositor,
    levels: audio.levels,
    slides: o.slides,
    mode: o.mode,
    quality: o.quality,
    deviceInfo,
    wake: () => audio.wake(),
    stop() {
      if (stopped) return;
      stopped = true;
      releaseAll();
    },
    onEnded(cb) {
      if (ended) cb(ended);
      else endedListeners.push(cb);
    },
  };
}
