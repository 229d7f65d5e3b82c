/**
 * Which container/codec MediaRecorder should write. WebM with VP9/Opus is the best quality per bit that
 * browsers record; Safari only records MP4, hence the fallbacks. The mime type stored with a take is the
 * one MediaRecorder reports after starting (it adds codec details, or picks its own for '').
 */
export const VIDEO_MIME_PREFERENCE = [
  'video/webm;codecs=vp9,opus',
  'video/webm;codecs=vp8,opus',
  'video/webm',
  'video/mp4',
] as const;

export const AUDIO_MIME_PREFERENCE = [
  'audio/webm;codecs=opus',
  'audio/webm',
  'audio/ogg;codecs=opus',
  'audio/mp4',
] as const;

function browserIsTypeSupported(t: string): boolean {
  return typeof MediaRecorder !== 'undefined' && typeof MediaRecorder.isTypeSupported === 'function'
    ? MediaRecorder.isTypeSupported(t)
    : false;
}

/** The first supported type in preference order; '' lets the browser choose (it always can). */
export function pickMimeType(video: boolean, isSupported: (t: string) => boolean = browserIsTypeSupported): string {
  const list = video ? VIDEO_MIME_PREFERENCE : AUDIO_MIME_PREFERENCE;
  for (const t of list) {
    if (isSupported(t)) return t;
  }
  return '';
}

/** File extension for a recorded mime type ('' or unknown → webm, what Chromium and Firefox write). */
export function extensionFor(mimeType: string): string {
  const base = mimeType.split(';')[0]?.trim().toLowerCase() ?? '';
  switch (base) {
    case 'video/mp4':
      return 'mp4';
    case 'audio/mp4':
      return 'm4a';
    case 'audio/ogg':
      return 'ogg';
    case 'video/x-matroska':
      return 'mkv';
    default:
      return 'webm';
  }
}
