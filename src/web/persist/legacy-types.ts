/**
 * The shapes a scan of this browser's legacy items produces (legacy-sources.ts) and the import and the
 * browser's memory of past runs (legacy-import.ts, legacy-memory.ts) read.
 */
import type { LegacyItem, LegacySource, SkipReason } from '../../shared/legacy-format.ts';

/** Where an item lives, which is what removing its local copy needs. */
export type LegacyOrigin =
  | {
      kind: 'saved';
      index: number;
      rawId: string | null;
      field: string;
      value: string;
      idb?: { database: string; store: string; key: string };
    }
  | { kind: 'take'; takeId: string };

export interface LegacyCandidate {
  /** Unique within one scan (ids may repeat in the old list). */
  uid: string;
  legacySource: LegacySource;
  item: LegacyItem;
  size: number;
  mimeType: string;
  origin: LegacyOrigin;
  /** Known at scan for bytes already in memory (data: URLs); else computed by the import. */
  sha256?: string;
  read(): Promise<Blob>;
}

export interface LegacySkip {
  /** Stable across loads: what "Dismiss" remembers. */
  uid: string;
  legacySource: LegacySource;
  legacyId: string | null;
  title: string | null;
  size?: number;
  reason: SkipReason;
  message: string;
  /** The readable bytes, for "Download" (absent when nothing can be read). */
  download?: { filename: string; read(): Promise<Blob> };
}

export interface LegacyScan {
  candidates: LegacyCandidate[];
  skips: LegacySkip[];
  /** The saved list was cut off: complete entries are imported, but the list is never rewritten. */
  truncated: boolean;
}
