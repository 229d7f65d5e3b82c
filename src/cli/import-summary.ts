/** What `recorder import legacy` counted, and the summary it prints at the end (src/cli/import.ts). */
import type { ExportEnd } from '../server/imports/legacy-stream.js';

/** The reasons in plain words (the codes are printed too: support searches for them). */
const REASONS: Record<string, string> = {
  BLOB_URL_DEAD: 'media was a blob: URL, gone with the page that made it',
  CORRUPT_DATA: 'media data is corrupt',
  UNKNOWN_TYPE: 'unknown recording type',
  NO_MEDIA: 'no recording in the entry',
  NOT_AN_OBJECT: 'not a recording entry',
  UNREADABLE_JSON: 'part of the file is not readable JSON',
  IDB_MISSING: "media is in the old app's browser storage",
  NOT_MEDIA: 'the bytes are not audio or video',
  TOO_LARGE: 'larger than this server accepts',
  UPLOAD_FAILED: 'could not be stored',
  VALIDATION_FAILED: 'a field the server refuses',
  LEGACY_SHA256_MISMATCH: 'the bytes changed while being stored',
};
/** Entries named per reason in the summary; the import's rows (GET /api/imports/:id) hold them all. */
const NAMED = 5;
const MiB = 1024 ** 2;
const mib = (bytes: number) => (bytes / MiB).toFixed(1);
const ENDS = { truncated: 'cut short', unreadable: 'not an export' } as const;

interface ReasonGroup {
  count: number;
  examples: string[];
  message: string;
}

export class ImportTally {
  entries = 0;
  private importedCount = 0;
  private importedBytes = 0;
  private alreadyCount = 0;
  private deletedSince = 0;
  private skippedCount = 0;
  private readonly reasons = new Map<string, ReasonGroup>();

  imported(bytes: number): void {
    this.importedCount++;
    this.importedBytes += bytes;
  }

  already(deletedSince: boolean): void {
    this.alreadyCount++;
    if (deletedSince) this.deletedSince++;
  }

  skipped(reason: string, message: string, legacyId: string | null, title: string | null): void {
    this.skippedCount++;
    const group = this.reasons.get(reason) ?? { count: 0, examples: [], message };
    group.count++;
    if (group.examples.length < NAMED) {
      const name = legacyId ?? '(no id)';
      group.examples.push(title ? `${name} "${title.slice(0, 40)}"` : name);
    }
    this.reasons.set(reason, group);
  }

  /** Entries neither imported nor there already. */
  problems(): number {
    return this.skippedCount;
  }

  summary(v: {
    file: string;
    email: string;
    importId: string | null;
    end: ExportEnd;
    dryRun: boolean;
    interrupted: boolean;
    peakRss: number;
  }): string {
    const lines = [
      v.dryRun
        ? `Dry run of ${v.file} for ${v.email}: nothing was written.`
        : `Imported ${v.file} for ${v.email} (import ${v.importId}).`,
      `  ${v.dryRun ? 'would import' : 'imported'}: ${this.importedCount} (${mib(this.importedBytes)} MiB)`,
      `  already there: ${this.alreadyCount}${
        this.deletedSince ? ` (${this.deletedSince} deleted since, not brought back)` : ''
      }`,
      `  skipped: ${this.skippedCount}`,
    ];
    for (const [code, group] of [...this.reasons].sort((a, b) => b[1].count - a[1].count)) {
      lines.push(`    ${code} × ${group.count}: ${REASONS[code] ?? group.message}`);
      lines.push(`      e.g. ${group.examples.join(', ')}${group.count > NAMED ? ', …' : ''}`);
      if (group.count === 1 || !REASONS[code]) lines.push(`      ${group.message}`);
    }
    if (v.interrupted) {
      lines.push(`  interrupted after ${this.entries} entries: run the same command again to import the rest`);
    } else if (v.end.state === 'complete') {
      lines.push(`  the file: ${this.entries} entries, read to the end`);
    } else {
      lines.push(`  the file: ${this.entries} entries read, then ${ENDS[v.end.state]}`);
    }
    lines.push(`  peak memory: ${(v.peakRss / MiB).toFixed(0)} MiB`);
    return `${lines.join('\n')}\n`;
  }
}
