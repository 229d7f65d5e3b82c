/**
 * The media part of a backup: the key, size and sha256 of every recording's media and thumbnail and of every
 * ready version's (each in the storage its own row names), read from storage (streamed, a few objects at a
 * time), optionally with a copy of the bytes. Also its check against
 * storage (`backup verify`) and putting copied media back (`restore --with-media`).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pLimit from 'p-limit';
import { asRegistry } from '../../storage/factory.js';
import { contentTypeOf } from '../../storage/keys.js';
import { StorageNotConfiguredError, type StorageRegistry } from '../../storage/registry.js';
import { Meter } from '../../storage/streams.js';
import { NotFoundError, type Storage } from '../../storage/storage.js';
import type { MediaRow } from './backup.repository.js';
import type { BackupManifest, MediaEntry, MediaPart, Progress } from './manifest.js';

export interface MediaOptions {
  /** Read every object and hash it; false lists keys and the rows' sizes only. */
  hash: boolean;
  /** Copy the bytes into <backup dir>/media/<key> (implies hash). */
  copyInto?: string;
  concurrency: number;
  progress: Progress;
}

const NOT_COPIED =
  'Media bytes are not in this backup, only their keys, sizes and sha256. Back them up with the storage: ' +
  'local: copy DATA_DIR/media (e.g. rsync -a, or a file-system snapshot); s3: bucket versioning or replication ' +
  '(or aws s3 sync). `recorder backup verify <dir>` checks the storage against this list.';
const COPIED = 'Media bytes are copied under media/<key> in this backup; restore --with-media puts them back.';

export function mediaEntries(rows: MediaRow[]): MediaEntry[] {
  const out: MediaEntry[] = [];
  for (const r of rows) {
    const where = {
      recordingId: r.recordingId,
      ...(r.versionId === null ? {} : { versionId: r.versionId }),
      provider: r.provider,
      bucket: r.bucket,
    };
    const version = r.versionId !== null;
    if (r.storageKey)
      out.push({
        ...where,
        kind: version ? 'version' : 'recording',
        key: r.storageKey,
        status: 'listed',
        ...(r.fileSize === null ? {} : { expectedSize: Number(r.fileSize) }),
      });
    if (r.thumbnailKey)
      out.push({ ...where, kind: version ? 'version-thumbnail' : 'thumbnail', key: r.thumbnailKey, status: 'listed' });
  }
  return out;
}

/** Every configured storage (a registry), or one storage alone. */
export type MediaStorages = StorageRegistry | Storage;

/** The configured storage the entry's row names, or undefined when this server has none for it. */
function storageOf(entry: MediaEntry, storages: StorageRegistry): Storage | undefined {
  try {
    const provider = entry.provider as Storage['provider'];
    return storages.forLocation({ provider, bucket: entry.bucket ?? null, region: null });
  } catch (err) {
    if (err instanceof StorageNotConfiguredError) return undefined;
    throw err;
  }
}

/** Streams one object through a hash (and into its copy); missing objects are reported, not thrown. */
async function readObject(storage: Storage, key: string, copyTo: string | undefined) {
  try {
    const { body } = await storage.get(key);
    const meter = new Meter(key);
    let sink: Writable;
    if (copyTo) {
      await fsp.mkdir(path.dirname(copyTo), { recursive: true, mode: 0o700 });
      sink = fs.createWriteStream(copyTo, { mode: 0o600 });
    } else sink = new Writable({ write: (_chunk, _enc, cb) => cb() });
    await pipeline(body, meter, sink);
    return { size: meter.bytes, sha256: meter.sha256() };
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

export async function buildMediaPart(
  rows: MediaRow[],
  mediaStorages: MediaStorages,
  opts: MediaOptions,
): Promise<MediaPart> {
  const storages = asRegistry(mediaStorages);
  const entries = mediaEntries(rows);
  const hash = opts.hash || opts.copyInto !== undefined;
  if (hash) {
    const limit = pLimit(opts.concurrency);
    opts.progress.begin('media', entries.length, 'items');
    await Promise.all(
      entries.map((entry) =>
        limit(async () => {
          const storage = storageOf(entry, storages);
          if (!storage) entry.status = 'elsewhere';
          else {
            const copy = opts.copyInto ? path.join('media', ...entry.key.split('/')) : undefined;
            const read = await readObject(storage, entry.key, copy && path.join(opts.copyInto!, copy));
            if (!read) entry.status = 'missing';
            else Object.assign(entry, { status: 'ok', ...read, ...(copy ? { copy } : {}) });
          }
          opts.progress.advance(1);
        }),
      ),
    );
    opts.progress.end();
  }
  const present = entries.filter((e) => e.status === 'ok' || e.status === 'listed');
  return {
    provider: storages.primary.provider,
    bucket: storages.primary.bucket ?? null,
    hashed: hash,
    copied: opts.copyInto !== undefined,
    note: opts.copyInto ? COPIED : NOT_COPIED,
    objects: present.length,
    bytes: present.reduce((sum, e) => sum + (e.size ?? e.expectedSize ?? 0), 0),
    missing: entries.filter((e) => e.status === 'missing').length,
    entries,
  };
}

export interface MediaCheck {
  checked: number;
  problems: { key: string; problem: string }[];
}

async function checkEntry(storage: Storage, entry: MediaEntry): Promise<string | undefined> {
  if (entry.status === 'listed') {
    // a backup taken before a migration lists keys and the rows' sizes without reading: compare those
    const info = await storage.stat(entry.key).catch((err) => {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    });
    if (!info) return 'missing from storage';
    const sized = entry.expectedSize === undefined || info.size === entry.expectedSize;
    return sized ? undefined : `changed: ${info.size} bytes, the row says ${entry.expectedSize}`;
  }
  const now = await readObject(storage, entry.key, undefined);
  if (!now) return 'missing from storage';
  if (now.sha256 !== entry.sha256 || now.size !== entry.size) return `changed: ${now.size} bytes, sha256 ${now.sha256}`;
  return undefined;
}

/** Every object the manifest saw in this storage: still there, same size and sha256 (or size, if unhashed). */
export async function verifyMedia(
  manifest: BackupManifest,
  mediaStorages: MediaStorages,
  opts: { concurrency: number; progress: Progress },
): Promise<MediaCheck> {
  const storages = asRegistry(mediaStorages);
  const listed = manifest.media.entries.filter((e) => e.status === 'ok' || e.status === 'listed');
  const seen = listed.filter((entry) => storageOf(entry, storages) !== undefined);
  const problems: MediaCheck['problems'] = [];
  const limit = pLimit(opts.concurrency);
  opts.progress.begin('verify', seen.length, 'items');
  await Promise.all(
    seen.map((entry) =>
      limit(async () => {
        const problem = await checkEntry(storageOf(entry, storages)!, entry);
        if (problem) problems.push({ key: entry.key, problem });
        opts.progress.advance(1);
      }),
    ),
  );
  opts.progress.end();
  return { checked: seen.length, problems: problems.sort((a, b) => a.key.localeCompare(b.key)) };
}

/** Puts the media copied into the backup back into storage; each put is checked against its sha256. */
export async function restoreMedia(
  manifest: BackupManifest,
  dir: string,
  mediaStorages: MediaStorages,
  opts: { concurrency: number; progress: Progress },
): Promise<number> {
  const storages = asRegistry(mediaStorages);
  const copies = manifest.media.entries.filter((e) => e.copy);
  const limit = pLimit(opts.concurrency);
  opts.progress.begin('media', copies.length, 'items');
  await Promise.all(
    copies.map((entry) =>
      limit(async () => {
        const file = path.join(dir, entry.copy!);
        // back where its row says it is; a storage without settings here stops the restore, named
        const storage = storages.forLocation({
          provider: entry.provider as Storage['provider'],
          bucket: entry.bucket ?? null,
          region: null,
        });
        const put = await storage.put(entry.key, file, { contentType: contentTypeOf(entry.key) });
        if (put.sha256 !== entry.sha256) throw new Error(`${entry.copy}: sha256 differs from the manifest's`);
        opts.progress.advance(1);
      }),
    ),
  );
  opts.progress.end();
  return copies.length;
}
