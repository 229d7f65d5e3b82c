/**
 * What this browser holds from before the server (docs/legacy-import.md): the entries of
 * localStorage['savedRecordings'] (their media a data: URL, a blob: URL or an `idb:` ref), and, for a user
 * whose side is now the server, the takes kept in browser mode. The scan reads each item's bytes far
 * enough to know its size and whether it can be read at all; it changes nothing.
 *
 * Removing an entry rewrites the array without it, and only when the stored value parses completely: a
 * value the quota cut off is never written (its end is unreadable, and writing would lose it).
 */
import {
  decodeDataUrl,
  type LegacyItem,
  type LegacySource,
  MEDIA_FIELDS,
  normalizeLegacyEntry,
  readSavedRecordings,
  type SkipReason,
} from '../../shared/legacy-format.ts';
import { sha256Hex } from './legacy-hash.ts';
import { deleteIdbKey, readIdbBlob } from './legacy-idb.ts';
import { doneMarks, markOf, refusedMarks, rememberDone } from './legacy-memory.ts';
import type { LocalTake, TakeStore } from './take-store.ts';
import type { LegacyCandidate, LegacyOrigin, LegacyScan, LegacySkip } from './legacy-types.ts';

export type { LegacyCandidate, LegacyOrigin, LegacyScan, LegacySkip } from './legacy-types.ts';

export const SAVED_RECORDINGS = 'savedRecordings';

export interface ScanOptions {
  store: TakeStore;
  userId: string;
  storage: 'server' | 'browser';
  local?: Storage;
}

const rawIdOf = (e: unknown): string | null => {
  const id = e && typeof e === 'object' ? (e as { id?: unknown }).id : undefined;
  return id === undefined || id === null ? null : String(id);
};

function extensionOf(mime: string): string {
  if (mime.includes('webm')) return 'webm';
  if (mime.includes('mp4')) return 'mp4';
  if (mime.includes('ogg')) return 'ogg';
  if (mime.includes('wav')) return 'wav';
  if (mime.includes('mpeg')) return 'mp3';
  return 'bin';
}

function fileName(title: string | null, legacyId: string | null, mime: string): string {
  const base = (title ?? `recording-${legacyId ?? 'unknown'}`).replace(/[^\w .-]+/g, '_').slice(0, 80) || 'recording';
  return `${base}.${extensionOf(mime)}`;
}

/** Any readable data: URL among an entry's media fields (what "Download" offers for an entry we cannot import). */
function readableDataUrl(entry: unknown): { mimeType: string; bytes: Uint8Array } | null {
  if (!entry || typeof entry !== 'object') return null;
  for (const f of MEDIA_FIELDS) {
    const v = (entry as Record<string, unknown>)[f];
    if (typeof v === 'string' && v.trim().startsWith('data:')) {
      const d = decodeDataUrl(v.trim());
      if (d) return d;
    }
  }
  return null;
}

function sameOrigin(blobUrl: string): boolean {
  try {
    return typeof location !== 'undefined' && new URL(blobUrl.slice('blob:'.length)).origin === location.origin;
  } catch {
    return false;
  }
}

const blobOf = (bytes: Uint8Array, type: string) => new Blob([bytes as Uint8Array<ArrayBuffer>], { type });

/** The skip an item becomes once it cannot be imported (after a refusal): its bytes stay downloadable. */
export function candidateSkip(c: LegacyCandidate, reason: SkipReason, message: string): LegacySkip {
  return {
    uid: `${c.legacySource}:${c.item.legacyId}:${reason}`,
    legacySource: c.legacySource,
    legacyId: c.item.legacyId,
    title: c.item.title,
    size: c.size,
    reason,
    message,
    download: { filename: fileName(c.item.title, c.item.legacyId, c.mimeType), read: () => c.read() },
  };
}

async function fromSavedEntry(
  entry: unknown,
  index: number,
): Promise<{ candidate?: LegacyCandidate; skip?: LegacySkip }> {
  const source: LegacySource = 'saved-recordings';
  const n = normalizeLegacyEntry(entry, index);
  if (!n.ok) {
    const data = readableDataUrl(entry);
    return {
      skip: {
        uid: `${source}:${n.legacyId ?? `index:${index}`}:${n.reason}`,
        legacySource: source,
        legacyId: n.legacyId,
        title: n.title,
        reason: n.reason,
        message: n.message,
        ...(data
          ? {
              size: data.bytes.byteLength,
              download: {
                filename: fileName(n.title, n.legacyId, data.mimeType),
                read: async () => blobOf(data.bytes, data.mimeType),
              },
            }
          : {}),
      },
    };
  }
  const item = n.item;
  const media = item.media;
  const value = String((entry as Record<string, unknown>)[media.field] ?? '');
  const origin: LegacyOrigin = { kind: 'saved', index, rawId: rawIdOf(entry), field: media.field, value };
  const skip = (reason: SkipReason, message: string): { skip: LegacySkip } => ({
    skip: {
      uid: `${source}:${item.legacyId}:${reason}`,
      legacySource: source,
      legacyId: item.legacyId,
      title: item.title,
      reason,
      message,
    },
  });
  const base = { uid: `${source}:${item.legacyId}#${index}`, legacySource: source, item, origin };
  if (media.kind === 'data-url') {
    const d = decodeDataUrl(value.trim());
    if (!d) return skip('CORRUPT_DATA', 'The recording’s data is damaged and cannot be decoded');
    const mimeType = item.mimeType ?? d.mimeType;
    const sha256 = sha256Hex(d.bytes);
    return {
      candidate: { ...base, size: d.bytes.byteLength, mimeType, sha256, read: async () => blobOf(d.bytes, mimeType) },
    };
  }
  if (media.kind === 'blob-url') {
    // A blob: URL lives as long as the page that made it (an old tab of this origin still open can serve
    // it); one of another origin cannot be read from here at all.
    const blob = sameOrigin(media.url)
      ? await fetch(media.url).then(
          (r) => (r.ok ? r.blob() : null),
          () => null,
        )
      : null;
    if (!blob) return skip('BLOB_URL_DEAD', 'The recording was only held by a page that has since closed');
    const mimeType = item.mimeType ?? blob.type;
    return { candidate: { ...base, size: blob.size, mimeType, read: async () => blob } };
  }
  const ref = { database: media.database, store: media.store, key: media.key };
  const blob = await readIdbBlob(ref.database, ref.store, ref.key);
  if (!blob) return skip('IDB_MISSING', 'The recording’s data is no longer in this browser’s storage');
  const mimeType = item.mimeType ?? blob.type;
  return {
    candidate: {
      ...base,
      origin: { ...origin, idb: ref },
      size: blob.size,
      mimeType,
      read: async () => (await readIdbBlob(ref.database, ref.store, ref.key)) ?? blob,
    },
  };
}

/** A take kept in browser mode, as a legacy item (its id is its legacy id). */
export function takeCandidate(store: TakeStore, t: LocalTake): LegacyCandidate {
  const item: LegacyItem = {
    legacyId: t.id,
    title: t.title?.trim() || null,
    recordingType: t.mode,
    durationMs: t.durationMs > 0 ? Math.round(t.durationMs) : null,
    createdAt: t.startedAt,
    description: t.description?.trim() || null,
    quality: t.quality,
    mimeType: t.mimeType || null,
    size: t.bytes,
    thumbnail: null,
    media: { kind: 'idb', field: 'take', database: 'recorder', store: 'takes', key: t.id },
  };
  return {
    uid: `browser-take:${t.id}`,
    legacySource: 'browser-take',
    item,
    size: t.bytes,
    mimeType: t.mimeType,
    origin: { kind: 'take', takeId: t.id },
    read: () => store.blob(t.id),
  };
}

/** Everything this browser holds that could go to the server, and what cannot, with the reason. */
export async function scanLegacy(o: ScanOptions): Promise<LegacyScan> {
  const local = o.local ?? localStorage;
  const raw = local.getItem(SAVED_RECORDINGS);
  const saved = readSavedRecordings(raw);
  const candidates: LegacyCandidate[] = [];
  const skips: LegacySkip[] = [];
  const rawDownload = raw ? { filename: 'savedRecordings.json', read: async () => new Blob([raw]) } : undefined;
  if (raw && saved.unreadable) {
    skips.push({
      uid: 'saved-recordings:list:UNREADABLE_JSON',
      legacySource: 'saved-recordings',
      legacyId: null,
      title: null,
      reason: 'UNREADABLE_JSON',
      message: 'The list of saved recordings cannot be read',
      ...(rawDownload ? { download: rawDownload } : {}),
    });
  }
  const results = await Promise.all(saved.entries.map((e, i) => fromSavedEntry(e, i)));
  for (const r of results) {
    if (r.candidate) candidates.push(r.candidate);
    if (r.skip) skips.push(r.skip);
  }
  if (saved.truncated) {
    skips.push({
      uid: `saved-recordings:tail-${saved.entries.length}:UNREADABLE_JSON`,
      legacySource: 'saved-recordings',
      legacyId: null,
      title: null,
      reason: 'UNREADABLE_JSON',
      message: `The list of saved recordings is cut off after ${saved.entries.length} entries; the rest cannot be read`,
      ...(rawDownload ? { download: rawDownload } : {}),
    });
  }
  if (o.storage === 'server') {
    const takes = await o.store.list(o.userId);
    for (const t of takes) {
      if (t.storage === 'browser' && t.state === 'kept' && t.bytes > 0) candidates.push(takeCandidate(o.store, t));
    }
  }
  const done = doneMarks(local);
  const refused = refusedMarks(local);
  const offered: LegacyCandidate[] = [];
  for (const c of candidates) {
    const mark = markOf(c);
    const refusal = refused.get(mark);
    if (refusal) skips.push(candidateSkip(c, refusal.reason, refusal.message));
    else if (!done.has(mark)) offered.push(c);
  }
  return { candidates: offered, skips, truncated: saved.truncated };
}

/**
 * Removes the entry from the saved list (the list as it is now: another tab may have changed it), only
 * when it parses completely. false: not removed (the list is cut off or unreadable) — nothing was written.
 */
function removeSavedEntry(origin: Extract<LegacyOrigin, { kind: 'saved' }>, local: Storage): boolean {
  const raw = local.getItem(SAVED_RECORDINGS);
  if (raw === null) return true;
  let list: unknown;
  let twice = false;
  try {
    list = JSON.parse(raw.replace(/^\uFEFF/, ''));
    // Some old versions stringified the array twice: it is written back the same way.
    if (typeof list === 'string') {
      list = JSON.parse(list);
      twice = true;
    }
  } catch {
    return false;
  }
  if (!Array.isArray(list)) return false;
  const at = list.findIndex(
    (e) =>
      e !== null &&
      typeof e === 'object' &&
      (e as Record<string, unknown>)[origin.field] === origin.value &&
      rawIdOf(e) === origin.rawId,
  );
  if (at < 0) return true; // gone already (another tab)
  list.splice(at, 1);
  const text = JSON.stringify(list);
  local.setItem(SAVED_RECORDINGS, twice ? JSON.stringify(text) : text);
  return true;
}

/**
 * Deletes this browser's copy of an item the server holds (checked by the caller). An entry of a cut-off
 * list stays as it is (and its idb bytes with it): it is remembered as done instead.
 */
export async function removeLocalCopy(
  c: LegacyCandidate,
  store: TakeStore,
  local: Storage = localStorage,
): Promise<'removed' | 'kept'> {
  if (c.origin.kind === 'take') {
    await store.delete(c.origin.takeId);
    return 'removed';
  }
  if (!removeSavedEntry(c.origin, local)) {
    rememberDone(c, local);
    return 'kept';
  }
  const ref = c.origin.idb;
  if (ref) await deleteIdbKey(ref.database, ref.store, ref.key);
  return 'removed';
}
