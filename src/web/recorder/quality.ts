/**
 * Quality presets. The size and frame rate are what the composited canvas is drawn at and what the
 * camera/screen are asked for (as `ideal`: a device that cannot do it still records, at what it can);
 * the bitrates go to MediaRecorder, which treats them as targets.
 */
export type Quality = 'high' | 'medium' | 'low';

export interface QualityInfo {
  label: string;
  width: number;
  height: number;
  frameRate: number;
  videoBitsPerSecond: number;
  audioBitsPerSecond: number;
}

export const QUALITY: Record<Quality, QualityInfo> = {
  high: {
    label: 'High (1080p)',
    width: 1920,
    height: 1080,
    frameRate: 30,
    videoBitsPerSecond: 5_000_000,
    audioBitsPerSecond: 128_000,
  },
  medium: {
    label: 'Medium (720p)',
    width: 1280,
    height: 720,
    frameRate: 30,
    videoBitsPerSecond: 2_500_000,
    audioBitsPerSecond: 96_000,
  },
  low: {
    label: 'Low (480p)',
    width: 854,
    height: 480,
    frameRate: 24,
    videoBitsPerSecond: 1_000_000,
    audioBitsPerSecond: 64_000,
  },
};

export const QUALITY_LIST: readonly Quality[] = ['high', 'medium', 'low'];

export function isQuality(v: unknown): v is Quality {
  return typeof v === 'string' && Object.hasOwn(QUALITY, v);
}

/** Bytes one minute of a take is expected to take at this quality (for "space needed" hints). */
export function bytesPerMinute(q: Quality, video: boolean): number {
  const info = QUALITY[q];
  const bps = (video ? info.videoBitsPerSecond : 0) + info.audioBitsPerSecond;
  return Math.round((bps / 8) * 60);
}
