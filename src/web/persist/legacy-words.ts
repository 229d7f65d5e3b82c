/**
 * What a person reads about items that could not be imported, and which of those they chose to stop
 * seeing ("Dismiss", remembered in localStorage per item, so the list does not come back on every load).
 */
import type { SkipReason } from '../../shared/legacy-format.ts';

const WORDS: Record<SkipReason, string> = {
  BLOB_URL_DEAD: 'Only a link to this recording was saved, and the link stopped working when the old page closed.',
  CORRUPT_DATA: 'The recording’s data is damaged and cannot be read.',
  UNKNOWN_TYPE: 'The kind of recording is not one this app knows.',
  NO_MEDIA: 'The entry holds no recording.',
  NOT_AN_OBJECT: 'The entry is not a recording.',
  UNREADABLE_JSON: 'The list of saved recordings is damaged; this part of it cannot be read.',
  IDB_MISSING: 'The recording’s data is no longer in this browser.',
  NOT_MEDIA: 'The file is not audio or video the server accepts.',
  TOO_LARGE: 'The recording is larger than the server accepts.',
  UPLOAD_FAILED: 'The upload did not succeed. Try again later.',
};

/** Plain words for a reason code (a server code we do not know reads as a failed upload). */
export function reasonWords(reason: string): string {
  return (WORDS as Record<string, string>)[reason] ?? WORDS.UPLOAD_FAILED;
}

const DISMISSED_KEY = 'recorder.legacyImport.dismissed';

export function dismissedSkips(local: Storage = localStorage): Set<string> {
  try {
    const v = JSON.parse(local.getItem(DISMISSED_KEY) ?? '[]') as unknown;
    return new Set(Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  } catch {
    return new Set();
  }
}

export function dismissSkips(uids: string[], local: Storage = localStorage): void {
  const all = dismissedSkips(local);
  for (const u of uids) all.add(u);
  local.setItem(DISMISSED_KEY, JSON.stringify([...all]));
}
