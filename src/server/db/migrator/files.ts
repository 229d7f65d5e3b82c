import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { type BackfillDeclaration, BackfillFileError, parseBackfill } from '../backfill/declaration.js';
import { concurrentIndexBuild, concurrentIndexDrop, isTransactionControl, splitStatements } from './sql.js';

export const NO_TRANSACTION_DIRECTIVE = '-- migrate:no-transaction';
/**
 * A header line that marks an up file as destroying or rewriting data in a way no rollback can undo
 * (a backfill that overwrites a column, a merge of rows): `migrate up` takes a full backup first.
 * DROP TABLE / DROP COLUMN / TRUNCATE of rows are found without it (see Migrator.needsBackup).
 */
export const DESTRUCTIVE_MARKER = '-- recorder:destructive';
const FILE_RE = /^(\d{4})_phase(\d+)_([a-z0-9_]+)\.(up|down|backfill)\.sql$/;

export interface MigrationScript {
  file: string;
  sql: string;
  checksum: string;
  transactional: boolean;
  /** Marked with DESTRUCTIVE_MARKER in its header (up files only). */
  destructive: boolean;
  statements: string[];
}

export interface MigrationFile {
  version: number;
  phase: number;
  name: string;
  up: MigrationScript;
  down: MigrationScript;
  /** Declared in NNNN_phaseN_<what>.backfill.sql: run in batches after `up`, never by it (db/backfill/). */
  backfill?: BackfillDeclaration;
}

export class MigrationFileError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'MigrationFileError';
  }
}

export function checksum(sql: string): string {
  return createHash('sha256').update(sql).digest('hex');
}

/** The leading comment and blank lines: where directives live. */
function headerLines(sql: string): string[] {
  const lines = sql.split('\n').map((l) => l.trim());
  const end = lines.findIndex((l) => l !== '' && !l.startsWith('--'));
  return end === -1 ? lines : lines.slice(0, end);
}

function destructiveMark(file: string, sql: string): boolean {
  if (!sql.includes(DESTRUCTIVE_MARKER)) return false;
  if (!headerLines(sql).includes(DESTRUCTIVE_MARKER))
    throw new MigrationFileError(file, `"${DESTRUCTIVE_MARKER}" must be a line of the file's header to take effect`);
  if (!file.endsWith('.up.sql'))
    throw new MigrationFileError(
      file,
      `"${DESTRUCTIVE_MARKER}" marks up files only (a down that destroys rows is found and refused anyway)`,
    );
  return true;
}

function parseScript(file: string, sql: string): MigrationScript {
  const firstLine = sql.split('\n', 1)[0]!.trim();
  const transactional = firstLine !== NO_TRANSACTION_DIRECTIVE;
  if (sql.includes(NO_TRANSACTION_DIRECTIVE) && transactional) {
    throw new MigrationFileError(file, `"${NO_TRANSACTION_DIRECTIVE}" must be the first line to take effect`);
  }
  const statements = splitStatements(sql);
  if (statements.length === 0) throw new MigrationFileError(file, 'holds no SQL statement');
  for (const s of statements) {
    if (isTransactionControl(s)) {
      throw new MigrationFileError(
        file,
        'must not control transactions itself (BEGIN/COMMIT/...): the engine wraps each file',
      );
    }
  }
  if (!transactional) {
    // One statement per file: a crash can then leave a file either applied or not, never half-applied.
    if (statements.length !== 1) {
      throw new MigrationFileError(
        file,
        `a ${NO_TRANSACTION_DIRECTIVE} file must hold exactly one statement, found ${statements.length}`,
      );
    }
    const build = concurrentIndexBuild(statements[0]!);
    if (build && !build.ifNotExists) {
      throw new MigrationFileError(
        file,
        'CREATE INDEX CONCURRENTLY must say IF NOT EXISTS so that a re-run after a crash is safe',
      );
    }
    const drop = concurrentIndexDrop(statements[0]!);
    if (drop && !drop.ifExists) {
      throw new MigrationFileError(
        file,
        'DROP INDEX CONCURRENTLY must say IF EXISTS so that a re-run after a crash is safe',
      );
    }
  } else {
    for (const s of statements) {
      if (concurrentIndexBuild(s) || concurrentIndexDrop(s)) {
        throw new MigrationFileError(
          file,
          `CONCURRENTLY cannot run inside a transaction: make it a ${NO_TRANSACTION_DIRECTIVE} file of its own`,
        );
      }
    }
  }
  const destructive = destructiveMark(file, sql);
  return { file, sql, checksum: checksum(sql), transactional, destructive, statements };
}

/** Reads and validates every migration in dir, sorted by version. Throws on any malformed file. */
export async function loadMigrations(dir: string): Promise<MigrationFile[]> {
  const names = (await fs.readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const byVersion = new Map<number, { phase: number; name: string; up?: string; down?: string; backfill?: string }>();
  for (const f of names) {
    const m = FILE_RE.exec(f);
    if (!m)
      throw new MigrationFileError(
        f,
        'name must be NNNN_phaseN_<what>.up.sql, .down.sql or .backfill.sql (lower case, digits, _)',
      );
    const version = Number(m[1]);
    const entry = byVersion.get(version) ?? { phase: Number(m[2]), name: m[3]! };
    if (entry.name !== m[3] || entry.phase !== Number(m[2])) {
      throw new MigrationFileError(f, `version ${m[1]} is used by two different migrations`);
    }
    entry[m[4] as 'up' | 'down' | 'backfill'] = f;
    byVersion.set(version, entry);
  }
  const out: MigrationFile[] = [];
  let lastPhase = 0;
  for (const [version, e] of [...byVersion].sort((a, b) => a[0] - b[0])) {
    if (!e.up || !e.down)
      throw new MigrationFileError(e.up ?? e.down ?? e.backfill!, `has no matching ${e.up ? '.down.sql' : '.up.sql'}`);
    if (e.phase < lastPhase)
      throw new MigrationFileError(
        e.up,
        `phase ${e.phase} comes after phase ${lastPhase}: phases must not go backwards`,
      );
    lastPhase = e.phase;
    const [up, down] = await Promise.all([
      fs.readFile(path.join(dir, e.up), 'utf8'),
      fs.readFile(path.join(dir, e.down), 'utf8'),
    ]);
    const file: MigrationFile = {
      version,
      phase: e.phase,
      name: e.name,
      up: parseScript(e.up, up),
      down: parseScript(e.down, down),
    };
    if (e.backfill) {
      const sql = await fs.readFile(path.join(dir, e.backfill), 'utf8');
      try {
        file.backfill = parseBackfill(e.backfill, version, e.up.replace(/\.up\.sql$/, ''), sql);
      } catch (err) {
        if (err instanceof BackfillFileError)
          throw new MigrationFileError(err.file, err.message.slice(err.file.length + 2));
        throw err;
      }
    }
    out.push(file);
  }
  return out;
}
