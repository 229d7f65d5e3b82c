/** Errors the migration engine reports; each message says what happened and what to do. */
export class MigrationError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'MigrationError';
  }
}

export interface DriftEntry {
  version: number;
  file: string;
  kind: 'changed' | 'missing';
}

export function driftError(drift: DriftEntry[]): MigrationError {
  const lines = drift.map((d) =>
    d.kind === 'changed'
      ? `  ${d.file} changed after it was applied (checksum differs)`
      : `  ${d.file} was applied but its file is gone`,
  );
  return new MigrationError(
    'MIGRATION_DRIFT',
    `Applied migrations no longer match their files:\n${lines.join('\n')}\n` +
      'Applied migrations are frozen: restore the original file and put the change in a new migration.',
  );
}

export interface DataAtRisk {
  table: string;
  column?: string;
  rows: number;
}

export function dataLossError(version: string, risk: DataAtRisk[]): MigrationError {
  const lines = risk.map((r) => `  ${r.column ? `${r.table}.${r.column}` : r.table}: ${r.rows} row(s)`);
  return new MigrationError(
    'MIGRATION_DATA_LOSS',
    `Rolling back to ${version} would destroy data:\n${lines.join('\n')}\n` +
      'Nothing was changed. Re-run with --force to write a backup of this data and then roll back.',
  );
}

/** A migration file failed for good: names the file, the SQLSTATE and what to do. */
export function stepError(file: string, err: unknown, attempt: number): MigrationError {
  const e = err as { code?: string; message?: string; position?: string };
  const retried = attempt > 0 ? ` after ${attempt} retr${attempt === 1 ? 'y' : 'ies'}` : '';
  const hint =
    e.code === '55P03'
      ? ' (lock_timeout: another session holds a lock on the table; ' +
        'try again when it is idle, or raise MIGRATION_LOCK_TIMEOUT)'
      : '';
  return new MigrationError(
    'MIGRATION_FAILED',
    `${file} failed${retried}: ${e.message ?? String(err)}${e.code ? ` [SQLSTATE ${e.code}]` : ''}${hint}. ` +
      'Rolled back where transactional; nothing recorded.',
  );
}
