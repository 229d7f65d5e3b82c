/** How a take is named before the user names it: its default title and its file extension. */

const MODE_WORDS: Record<string, string> = {
  camera: 'camera',
  audio: 'audio',
  screen: 'screen',
  'screen-camera': 'screen and camera',
  slides: 'slides',
  'slides-camera': 'slides and camera',
};

/** "Camera recording — 25 Nov 2026, 16:40" / "Recovered camera recording — …". */
export function defaultTitle(mode: string, startedAt: string, recovered: boolean): string {
  const when = new Date(startedAt).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  const what = `${MODE_WORDS[mode] ?? mode} recording`;
  return recovered ? `Recovered ${what} — ${when}` : `${what[0]!.toUpperCase()}${what.slice(1)} — ${when}`;
}

export function extensionOf(mimeType: string): string {
  if (mimeType.includes('mp4')) return 'mp4';
  if (mimeType.includes('ogg')) return 'ogg';
  return 'webm';
}
