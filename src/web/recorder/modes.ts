/**
 * The six recording types of the spec and what each one needs from the browser. Everything else
 * (sources, the UI's pickers, the mime choice) reads this table instead of switching on mode names.
 */
export type RecordingMode = 'camera' | 'audio' | 'screen' | 'screen-camera' | 'slides' | 'slides-camera';

export interface ModeInfo {
  label: string;
  /** Uses a camera: the whole picture (`camera`) or the bubble (`*-camera`). */
  camera: boolean;
  /** Uses a microphone. */
  mic: boolean;
  /** The microphone can be switched off (screen and slides can be recorded silent or with system audio). */
  micOptional: boolean;
  /** Captures a screen, window or tab with getDisplayMedia. */
  screen: boolean;
  /** Presents a slide deck (PDF or images). */
  slides: boolean;
  /** The file has a video track (everything but `audio`). */
  video: boolean;
  /** Frames are drawn on a canvas (base + camera bubble) rather than recorded from one track. */
  composited: boolean;
}

export const MODES: Record<RecordingMode, ModeInfo> = {
  camera: {
    label: 'Camera',
    camera: true,
    mic: true,
    micOptional: true,
    screen: false,
    slides: false,
    video: true,
    composited: false,
  },
  audio: {
    label: 'Audio',
    camera: false,
    mic: true,
    micOptional: false,
    screen: false,
    slides: false,
    video: false,
    composited: false,
  },
  screen: {
    label: 'Screen',
    camera: false,
    mic: true,
    micOptional: true,
    screen: true,
    slides: false,
    video: true,
    composited: false,
  },
  'screen-camera': {
    label: 'Screen + camera',
    camera: true,
    mic: true,
    micOptional: true,
    screen: true,
    slides: false,
    video: true,
    composited: true,
  },
  slides: {
    label: 'Slides',
    camera: false,
    mic: true,
    micOptional: true,
    screen: false,
    slides: true,
    video: true,
    composited: true,
  },
  'slides-camera': {
    label: 'Slides + camera',
    camera: true,
    mic: true,
    micOptional: true,
    screen: false,
    slides: true,
    video: true,
    composited: true,
  },
};

/** In the order the UI offers them. */
export const MODE_LIST: readonly RecordingMode[] = [
  'camera',
  'audio',
  'screen',
  'screen-camera',
  'slides',
  'slides-camera',
];

export function isRecordingMode(v: unknown): v is RecordingMode {
  return typeof v === 'string' && Object.hasOwn(MODES, v);
}
