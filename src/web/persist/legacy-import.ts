/**
 * Importing what this browser holds from before the server (legacy-sources.ts finds it) into the user's
 * recordings, without losing or doubling anything:
 *
 *  1. one import on the server (POST /api/imports; a run killed mid-way is continued under the same one);
 *  2. every item hashed (sha256, incrementally), the unreadable ones reported (/skips);
 *  3. lookup of every legacy key: an item the server already has is checked (GET /api/recordings/:id,
 *     size + sha256) and only then removed here;
 *  4. the rest one by one under a Web Lock per legacy key (two tabs never send one item at once; the one
 *     that waited looks again first): tus upload with the legacy metadata, the same check, the legacy
 *     thumbnail (PUT), then the local copy is removed;
 *  5. finish. Whatever failed stays here untouched and is listed with its reason.
 *
 * The server claims each legacy key once (a unique index): a tab killed between the upload and the
 * removal, or another tab, or the CLI, finds the item "already there" next time, never a second copy.
 */
import type { Import, ImportItem, LookupResult, Skip } from '../../server/imports/imports.schemas.ts';
import { decodeDataUrl, type SkipReason } from '../../shared/legacy-format.ts';
import { ApiError, apiClient, type ApiClient } from './api.ts';
import { sha256OfBlob, sha256OfTake } from './legacy-hash.ts';
import { rememberRefused } from './legacy-memory.ts';
import {
  candidateSkip,
  type LegacyCandidate,
  type LegacyScan,
  type LegacySkip,
  removeLocalCopy,
} from './legacy-sources.ts';
import { forgetLegacyUpload, type LegacyUploadResult, uploadLegacyItem } from './legacy-upload.ts';
import { getRecording } from './sessions.ts';
import { defaultTitle } from '../../shared/take-names.ts';
import type { TakeStore } from './take-store.ts';
import { uploadMismatch } from './verify-take.ts';

export type { Import, ImportItem };

export type ItemPhase = 'waiting' | 'checking' | 'uploading' | 'verifying' | 'imported' | 'already' | 'failed';

export interface ItemProgress {
  uid: string;
  title: string | null;
  size: number;
  phase: ItemPhase;
  /** Bytes of this item sent (uploading) or hashed (checking). */
  sent: number;
  recordingId?: string;
  /** Why it failed, in plain words. */
  message?: string;
}

export interface ImportProgress {
  importId?: string;
  items: ItemProgress[];
  bytesTotal: number;
  /** Bytes of items done (imported, already there or failed) plus the current item's sent bytes. */
  bytesDone: number;
  itemsDone: number;
}

export interface ImportResult {
  /** null: another tab imported everything while this one waited for it; nothing was left to do. */
  import: Import | null;
  /** Items that stayed here, with their reason (for the "could not import" list). */
  failures: LegacySkip[];
}

export interface LegacyImportOptions {
  store: TakeStore;
  userId: string;
  scan: LegacyScan;
  client?: ApiClient;
  local?: Storage;
  onProgress?: (p: ImportProgress) => void;
  /** Another tab of this user is importing: this run waits for it, then scans afresh with rescan. */
  onWaiting?: () => void;
  rescan?: () => Promise<LegacyScan>;
}

const BATCH = 1000;
const currentKey = (userId: string) => `recorder.legacyImport.current.${userId}`;
const keyOf = (k: { legacySource: string; legacyId: string; sha256: string }) =>
  `${k.legacySource}\n${k.legacyId}\n${k.sha256}`;

/** The import a killed run left running, or a new one. */
async function openImport(client: ApiClient, o: LegacyImportOptions, itemCount: number, byteCount: number) {
  const local = o.local ?? localStorage;
  const previous = local.getItem(currentKey(o.userId));
  if (previous) {
    const got = await client
      .request<{ import: Import }>('GET', `/api/imports/${encodeURIComponent(previous)}`)
      .catch(() => undefined);
    if (got && got.import.status !== 'completed') return got.import;
  }
  const { import: started } = await client.request<{ import: Import }>('POST', '/api/imports', {
    origin: 'browser',
    itemCount,
    byteCount,
  });
  local.setItem(currentKey(o.userId), started.id);
  return started;
}

function skipBody(s: LegacySkip): Skip {
  return {
    legacySource: s.legacySource,
    legacyId: s.legacyId,
    title: s.title?.slice(0, 300) ?? null,
    ...(s.size !== undefined ? { size: s.size } : {}),
    reason: s.reason,
    message: s.message.slice(0, 2000),
  };
}

async function reportSkips(client: ApiClient, importId: string, skips: LegacySkip[]): Promise<void> {
  for (let i = 0; i < skips.length; i += BATCH) {
    const items = skips.slice(i, i + BATCH).map(skipBody);
    await client.request('POST', `/api/imports/${importId}/skips`, { items });
  }
}

async function lookup(client: ApiClient, importId: string, cs: LegacyCandidate[]): Promise<Map<string, LookupResult>> {
  const found = new Map<string, LookupResult>();
  for (let i = 0; i < cs.length; i += BATCH) {
    const items = cs
      .slice(i, i + BATCH)
      .map((c) => ({ legacySource: c.legacySource, legacyId: c.item.legacyId, sha256: c.sha256! }));
    const r = await client.request<{ items: LookupResult[] }>('POST', `/api/imports/${importId}/lookup`, { items });
    for (const x of r.items) if (x.found) found.set(keyOf(x), x);
  }
  return found;
}

/** The recording's title: the old one, or (untitled in the old app) named as the app names a take. */
function titleOf(c: LegacyCandidate): string {
  const it = c.item;
  return it.title ?? defaultTitle(it.recordingType, it.createdAt ?? new Date().toISOString(), false);
}

/** The item's metadata for the tus upload (strings; the legacy key fields are added by the uploader). */
function uploadMetadata(c: LegacyCandidate): Record<string, string> {
  const it = c.item;
  const m: Record<string, string> = { recordingType: it.recordingType, filename: `legacy-${it.legacyId}` };
  m.title = titleOf(c);
  if (it.description) m.description = it.description;
  if (it.quality) m.quality = it.quality;
  if (it.durationMs) m.duration = String(it.durationMs / 1000);
  if (it.createdAt) m.createdAt = it.createdAt;
  return m;
}

/** Holds a Web Lock per legacy key while fn runs; waits for another tab holding it. */
async function withItemLock<T>(c: LegacyCandidate, fn: () => Promise<T>): Promise<T> {
  const lm = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  if (!lm) return fn();
  return lm.request(`recorder-legacy-${c.legacySource}-${c.item.legacyId}-${c.sha256}`, fn) as Promise<T>;
}

/** The legacy thumbnail as the recording's (best effort: the server makes one of its own otherwise). */
async function putThumbnail(client: ApiClient, recordingId: string, c: LegacyCandidate): Promise<void> {
  const url = c.item.thumbnail;
  if (!url) return;
  const d = decodeDataUrl(url);
  if (!d) return;
  const res = await fetch(client.absolute(`/api/recordings/${encodeURIComponent(recordingId)}/thumbnail`), {
    method: 'PUT',
    credentials: 'include',
    headers: { 'content-type': d.mimeType },
    body: new Blob([d.bytes as Uint8Array<ArrayBuffer>], { type: d.mimeType }),
  }).catch(() => undefined);
  if (!res?.ok) console.warn(`the legacy thumbnail of recording ${recordingId} was not stored (${res?.status})`);
}

/** Why an upload error keeps the item here, as a reason code. */
function reasonOf(e: ApiError): SkipReason {
  if (e.status === 415 || e.code === 'NOT_MEDIA' || e.code === 'UNSUPPORTED_MEDIA_TYPE') return 'NOT_MEDIA';
  if (e.status === 413) return 'TOO_LARGE';
  return 'UPLOAD_FAILED';
}

class Run {
  readonly progress: ImportProgress;
  readonly failures: LegacySkip[] = [];
  private readonly byUid = new Map<string, ItemProgress>();
  private readonly local: Storage;

  constructor(
    private readonly o: LegacyImportOptions,
    private readonly client: ApiClient,
  ) {
    this.local = o.local ?? localStorage;
    const items = o.scan.candidates.map((c) => ({
      uid: c.uid,
      title: titleOf(c),
      size: c.size,
      phase: 'waiting' as const,
      sent: 0,
    }));
    for (const i of items) this.byUid.set(i.uid, i);
    this.progress = { items, bytesTotal: items.reduce((n, i) => n + i.size, 0), bytesDone: 0, itemsDone: 0 };
  }

  set(c: LegacyCandidate, patch: Partial<ItemProgress>): void {
    const it = this.byUid.get(c.uid);
    if (!it) return;
    Object.assign(it, patch);
    const finished = (p: ItemProgress) => p.phase === 'imported' || p.phase === 'already' || p.phase === 'failed';
    const items = this.progress.items;
    this.progress.itemsDone = items.filter(finished).length;
    this.progress.bytesDone = items.reduce(
      (n, p) => n + (finished(p) ? p.size : p.phase === 'uploading' ? Math.min(p.sent, p.size) : 0),
      0,
    );
    this.o.onProgress?.({ ...this.progress, items: items.map((p) => ({ ...p })) });
  }

  fail(c: LegacyCandidate, reason: SkipReason, message: string): LegacySkip {
    this.set(c, { phase: 'failed', message });
    // The same bytes get the same answer: not offered again, listed with the reason instead.
    if (reason === 'NOT_MEDIA' || reason === 'TOO_LARGE') rememberRefused(c, { reason, message }, this.local);
    const skip = candidateSkip(c, reason, message);
    this.failures.push(skip);
    return skip;
  }

  async hash(c: LegacyCandidate): Promise<void> {
    if (c.sha256) return;
    this.set(c, { phase: 'checking', sent: 0 });
    c.sha256 =
      c.origin.kind === 'take'
        ? await sha256OfTake(this.o.store, c.origin.takeId)
        : await sha256OfBlob(await c.read(), (sent) => this.set(c, { sent }));
    this.set(c, { phase: 'waiting', sent: 0 });
  }

  /** The server's copy matches ours: remove ours. Else the item stays, with the reason. */
  async verifyAndRemove(c: LegacyCandidate, recordingId: string | null, outcome: 'imported' | 'already') {
    this.set(c, { phase: 'verifying' });
    if (recordingId) {
      const rec = await getRecording(this.client, recordingId);
      const problem = uploadMismatch(rec, c.size, c.sha256!);
      if (problem) return this.fail(c, 'UPLOAD_FAILED', problem);
    }
    // recordingId null: imported before and deleted on the server since; the key proves the bytes were there.
    await removeLocalCopy(c, this.o.store, this.local);
    this.set(c, { phase: outcome, ...(recordingId ? { recordingId } : {}) });
    return undefined;
  }

  async upload(importId: string, c: LegacyCandidate): Promise<LegacyUploadResult> {
    const key = { legacySource: c.legacySource, legacyId: c.item.legacyId, sha256: c.sha256! };
    for (let attempt = 0; ; attempt++) {
      this.set(c, { phase: 'uploading', sent: 0 });
      try {
        return await uploadLegacyItem({
          client: this.client,
          importId,
          ...key,
          blob: await c.read(),
          metadata: uploadMetadata(c),
          onProgress: (sent) => this.set(c, { sent }),
        });
      } catch (err) {
        // The server hashed other bytes than we did: once more from scratch, then it is a failure.
        if (err instanceof ApiError && err.code === 'LEGACY_SHA256_MISMATCH' && attempt === 0) {
          await forgetLegacyUpload(key);
          continue;
        }
        if (err instanceof ApiError) await forgetLegacyUpload(key).catch(() => undefined);
        throw err;
      }
    }
  }

  async one(importId: string, c: LegacyCandidate, known: LookupResult | undefined): Promise<void> {
    try {
      if (known) {
        await this.verifyAndRemove(c, known.recordingId, 'already');
        return;
      }
      await withItemLock(c, async () => {
        // Another tab may have sent it while this one waited for the lock.
        const again = (await lookup(this.client, importId, [c])).values().next().value;
        if (again) {
          await this.verifyAndRemove(c, again.recordingId, 'already');
          return;
        }
        const up = await this.upload(importId, c);
        // Another tab, device or the CLI won the legacy key meanwhile: its recording is the one.
        if (up.outcome === 'imported' && up.recordingId) await putThumbnail(this.client, up.recordingId, c);
        await this.verifyAndRemove(c, up.recordingId, up.outcome);
      });
    } catch (err) {
      const e =
        err instanceof ApiError ? err : new ApiError(0, 'ERROR', err instanceof Error ? err.message : String(err));
      const skip = this.fail(c, reasonOf(e), e.message);
      await reportSkips(this.client, importId, [skip]).catch(() => undefined);
    }
  }
}

/**
 * One run per user at a time, across this browser's tabs (a Web Lock): two runs would share one import,
 * and the first to finish it would refuse the other's items. A tab that had to wait scans again first.
 */
async function oneRunAtATime<T>(o: LegacyImportOptions, fn: (waited: boolean) => Promise<T>): Promise<T> {
  const lm = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  if (!lm) return fn(false);
  const name = `recorder-legacy-import-${o.userId}`;
  let out: { value: T } | undefined;
  await lm.request(name, { ifAvailable: true }, async (lock) => {
    if (lock) out = { value: await fn(false) };
  });
  if (out) return out.value;
  o.onWaiting?.();
  return lm.request(name, () => fn(true)) as Promise<T>;
}

async function runScan(o: LegacyImportOptions, client: ApiClient): Promise<ImportResult> {
  const run = new Run(o, client);
  const { candidates, skips } = o.scan;
  const imp = await openImport(client, o, candidates.length + skips.length, run.progress.bytesTotal);
  run.progress.importId = imp.id;
  for (const c of candidates) await run.hash(c);
  await reportSkips(client, imp.id, skips);
  const known = await lookup(client, imp.id, candidates);
  for (const c of candidates)
    await run.one(imp.id, c, known.get(keyOf({ ...c, legacyId: c.item.legacyId, sha256: c.sha256! })));
  const { import: finished } = await client.request<{ import: Import }>('POST', `/api/imports/${imp.id}/finish`);
  (o.local ?? localStorage).removeItem(currentKey(o.userId));
  return { import: finished, failures: run.failures };
}

/** Runs the import of everything the scan found; resolves with the finished import and what stayed here. */
export async function runLegacyImport(o: LegacyImportOptions): Promise<ImportResult> {
  const client = o.client ?? apiClient();
  return oneRunAtATime(o, async (waited) => {
    const scan = waited && o.rescan ? await o.rescan() : o.scan;
    if (waited && scan.candidates.length === 0) return { import: null, failures: [] };
    return runScan({ ...o, scan }, client);
  });
}

/** The user's imports, newest first (the history view). */
export async function listImports(client: ApiClient = apiClient()): Promise<Import[]> {
  return (await client.request<{ imports: Import[] }>('GET', '/api/imports')).imports;
}

export async function getImport(id: string, client: ApiClient = apiClient()) {
  return client.request<{ import: Import; items: ImportItem[] }>('GET', `/api/imports/${encodeURIComponent(id)}`);
}
