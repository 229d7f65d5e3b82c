/**
 * The recorder core's public surface, without slides.ts: pdf.js (~1 MB) is loaded only when a slides
 * mode is chosen — `const { SlideDeck } = await import('./recorder/slides.ts')`.
 */
export { MODES, MODE_LIST, isRecordingMode, type ModeInfo, type RecordingMode } from './modes.ts';
export { QUALITY, QUALITY_LIST, bytesPerMinute, isQuality, type Quality, type QualityInfo } from './quality.ts';
export { pickMimeType, extensionFor, VIDEO_MIME_PREFERENCE, AUDIO_MIME_PREFERENCE } from './mime.ts';
export {
  describeMediaError,
  deviceLost,
  screenShareStopped,
  MediaProblemError,
  type MediaProblem,
  type MediaProblemCode,
  type MediaWhat,
} from './errors.ts';
export { acquireSources, listDevices, type SourceOptions, type Sources } from './sources.ts';
export { DEFAULT_BUBBLE, clampBubble, type Bubble, type Compositor } from './compositor.ts';
export type { LevelMeter } from './audio.ts';
export {
  Recorder,
  type MediaRecorderFactory,
  type MediaRecorderLike,
  type RecorderEvents,
  type RecorderOptions,
  type RecorderState,
} from './recorder.ts';
export type { SlideDeck } from './slides.ts';
