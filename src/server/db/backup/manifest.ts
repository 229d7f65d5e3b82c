/** What a backup directory holds, as written to its manifest.json, and the progress a long step reports. */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { SequenceState } from './backup.repository.js';

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_FORMAT = 'recorder-backup/1';

export interface TableEntry {
  name: string;
  rows: number;
  /** copy form: the CSV under the backup directory, and the columns it holds, in order. */
  file?: string;
  columns?: string[];
}

export interface DatabasePart {
  /** pg_dump: one custom-format archive of the whole database; copy: one CSV per table of `public`. */
  form: 'pg_dump' | 'copy';
  serverVersion: string;
  /** Highest migration version applied when the backup was taken. */
  schemaVersion: number;
  migrations: { version: number; checksum: string }[];
  /** Parents before children: the order a copy-form restore loads them in. */
  tables: TableEntry[];
  /** copy form: where every sequence stood, so ids handed out (even unused, e.g. reserved) are never reissued. */
  sequences?: SequenceState[];
  /** pg_dump form. */
  dump?: { file: string; pgDumpVersion: string; major: number };
}

export interface MediaEntry {
  recordingId: string;
  /** version, version-thumbnail: a rendered version's objects (versionId), in the storage its own row names. */
  kind: 'recording' | 'thumbnail' | 'version' | 'version-thumbnail';
  versionId?: string;
  key: string;
  provider: string;
  bucket: string | null;
  /** Size the row says (recordings' and versions' media only). */
  expectedSize?: number;
  /** ok: read and hashed; missing: no object under the key; elsewhere: stored with another provider/bucket. */
  status: 'ok' | 'missing' | 'elsewhere' | 'listed';
  size?: number;
  sha256?: string;
  /** --with-media: the copy under the backup directory. */
  copy?: string;
}

export interface MediaPart {
  provider: string;
  bucket: string | null;
  /** false: keys and sizes from the rows only (the backup before a migration does not read media). */
  hashed: boolean;
  copied: boolean;
  note: string;
  objects: number;
  bytes: number;
  missing: number;
  entries: MediaEntry[];
}

export interface BackupManifest {
  format: typeof MANIFEST_FORMAT;
  createdAt: string;
  reason: string;
  database: DatabasePart;
  media: MediaPart;
}

/** A long step's progress: a CLI draws a bar, the server leaves it out. */
export interface Progress {
  begin(label: string, total: number, unit: 'bytes' | 'items'): void;
  advance(amount: number): void;
  end(): void;
}

export const silentProgress: Progress = { begin() {}, advance() {}, end() {} };

export async function writeManifest(dir: string, manifest: BackupManifest): Promise<void> {
  const file = path.join(dir, MANIFEST_FILE);
  await fsp.writeFile(`${file}.part`, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  await fsp.rename(`${file}.part`, file); // a backup without manifest.json is visibly unfinished
}

/** A backup or restore that cannot go on; the message says why and what to do (the CLI prints it as is). */
export class BackupError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'BackupError';
  }
}

export async function readManifest(dir: string): Promise<BackupManifest> {
  let text: string;
  try {
    text = await fsp.readFile(path.join(dir, MANIFEST_FILE), 'utf8');
  } catch {
    throw new BackupError(
      'BACKUP_UNREADABLE',
      `${dir} holds no ${MANIFEST_FILE}: not a finished backup (recorder backup writes it last)`,
    );
  }
  const manifest = JSON.parse(text) as Partial<BackupManifest>;
  if (manifest.format !== MANIFEST_FORMAT)
    throw new BackupError(
      'BACKUP_UNREADABLE',
      `${dir}/${MANIFEST_FILE} is not a full backup of this Recorder (format ${String(manifest.format)}); ` +
        'a backup written by `migrate down --force` is loaded with `recorder migrate restore`',
    );
  return manifest as BackupManifest;
}
