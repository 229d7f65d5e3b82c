/**
 * What this browser remembers about legacy items between runs (localStorage), by a mark that outlives
 * rewrites of the saved list: imported items of a cut-off list (their entry cannot be removed, so they are
 * not offered again), and items the server refused for good (not media, too large: sending them again
 * would get the same answer, so they are listed with the reason instead of offered).
 */
import type { SkipReason } from '../../shared/legacy-format.ts';
import type { LegacyCandidate } from './legacy-types.ts';

const DONE_KEY = 'recorder.legacyImport.done';
const REFUSED_KEY = 'recorder.legacyImport.refused';

/** An item's identity: its media's sha256 (data: URL), its ref (idb:, blob:), or its take id. */
export function markOf(c: LegacyCandidate): string {
  if (c.origin.kind === 'take') return `browser-take:${c.origin.takeId}`;
  const v = c.origin.value;
  return `${c.legacySource}:${c.item.legacyId}:${v.trim().startsWith('data:') ? c.sha256 : v}`;
}

function read(local: Storage, key: string): unknown {
  try {
    return JSON.parse(local.getItem(key) ?? 'null') as unknown;
  } catch {
    return null;
  }
}

export function doneMarks(local: Storage): Set<string> {
  const v = read(local, DONE_KEY);
  return new Set(Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
}

/** Remembers an item of a cut-off list as imported (its entry cannot be removed). */
export function rememberDone(c: LegacyCandidate, local: Storage): void {
  const marks = doneMarks(local);
  marks.add(markOf(c));
  local.setItem(DONE_KEY, JSON.stringify([...marks]));
}

export interface Refusal {
  reason: SkipReason;
  message: string;
}

export function refusedMarks(local: Storage): Map<string, Refusal> {
  const v = read(local, REFUSED_KEY);
  const out = new Map<string, Refusal>();
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, r] of Object.entries(v as Record<string, Refusal>)) {
      if (r && typeof r.reason === 'string' && typeof r.message === 'string') out.set(k, r);
    }
  }
  return out;
}

/** Remembers that the server refused the item for good. */
export function rememberRefused(c: LegacyCandidate, refusal: Refusal, local: Storage): void {
  const all = refusedMarks(local);
  all.set(markOf(c), refusal);
  local.setItem(REFUSED_KEY, JSON.stringify(Object.fromEntries(all)));
}
