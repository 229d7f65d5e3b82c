/** Parsing migration files: the rules that make every file safe to run and to re-run. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadMigrations } from '../src/server/db/migrator/files.js';
import { concurrentIndexBuild, destructiveTargets, splitStatements } from '../src/server/db/migrator/sql.js';
import { ALL_VERSIONS, MIGRATIONS_DIR } from './support/db.js';

function dirWith(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recorder-files-'));
  for (const [name, sql] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), sql);
  return dir;
}

describe('splitStatements', () => {
  it('does not split on semicolons inside strings, identifiers, comments or dollar quotes', () => {
    const sql = `
      CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $body$ BEGIN NEW.x := 1; RETURN NEW; END $body$;
      INSERT INTO "weird;name" VALUES ('a;b', E'c\\';d'); -- trailing; comment
      /* block; /* nested; */ still comment; */ SELECT $$x;y$$;
      SELECT 1`;
    const parts = splitStatements(sql);
    expect(parts).toHaveLength(4);
    expect(parts[0]).toContain('RETURN NEW; END $body$');
    expect(parts[1]).toContain(`E'c\\';d'`);
    expect(parts[2]).toContain('SELECT $$x;y$$');
    expect(parts[3]).toBe('SELECT 1');
  });

  it('ignores comment-only tails', () => {
    expect(splitStatements('SELECT 1;\n-- the end\n')).toEqual(['SELECT 1']);
  });
});

describe('statement recognition', () => {
  it('finds concurrent index builds and their names', () => {
    expect(concurrentIndexBuild('create unique index concurrently if not exists "Idx_A" on t (x)')).toEqual({
      name: 'Idx_A',
      ifNotExists: true,
    });
    expect(concurrentIndexBuild('CREATE INDEX CONCURRENTLY idx_b ON t (x)')).toEqual({
      name: 'idx_b',
      ifNotExists: false,
    });
    expect(concurrentIndexBuild('CREATE INDEX idx_c ON t (x)')).toBeUndefined();
  });

  it('finds the tables and columns a statement destroys', () => {
    expect(destructiveTargets('DROP TABLE IF EXISTS a, public.b CASCADE')).toEqual({
      tables: ['a', 'public.b'],
      columns: [],
    });
    expect(
      destructiveTargets(
        'ALTER TABLE recordings DROP COLUMN storage_key, DROP COLUMN IF EXISTS cdn_url, DROP CONSTRAINT chk_x',
      ),
    ).toEqual({
      tables: [],
      columns: [
        { table: 'recordings', column: 'storage_key' },
        { table: 'recordings', column: 'cdn_url' },
      ],
    });
    expect(destructiveTargets('TRUNCATE recordings')).toEqual({ tables: ['recordings'], columns: [] });
    expect(destructiveTargets('ALTER TABLE t ALTER COLUMN x DROP DEFAULT')).toEqual({ tables: [], columns: [] });
  });
});

describe('loadMigrations', () => {
  it("loads our migrations in order, paired, the spec's Phase 1 first", async () => {
    const files = await loadMigrations(MIGRATIONS_DIR);
    expect(files.slice(0, 5).map((f) => `${f.version}:${f.phase}:${f.name}`)).toEqual([
      '1:1:users',
      '2:1:projects',
      '3:1:recordings',
      '4:1:recording_sessions',
      '5:1:recording_edits',
    ]);
    expect(files.map((f) => f.version)).toEqual(ALL_VERSIONS);
    expect(files.every((f) => f.up.checksum.length === 64 && f.down.statements.length > 0)).toBe(true);
  });

  const bad: [string, Record<string, string>, RegExp][] = [
    ['a badly named file', { '1_users.up.sql': 'SELECT 1;' }, /name must be NNNN_phaseN_/],
    ['an up without a down', { '0001_phase1_a.up.sql': 'SELECT 1;' }, /has no matching \.down\.sql/],
    [
      'two statements in a no-transaction file',
      {
        '0001_phase1_a.up.sql': '-- migrate:no-transaction\nSELECT 1; SELECT 2;',
        '0001_phase1_a.down.sql': 'SELECT 1;',
      },
      /exactly one statement, found 2/,
    ],
    [
      'a concurrent build without IF NOT EXISTS',
      {
        '0001_phase1_a.up.sql': '-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (x);',
        '0001_phase1_a.down.sql': 'SELECT 1;',
      },
      /must say IF NOT EXISTS/,
    ],
    [
      'CONCURRENTLY inside a transactional file',
      {
        '0001_phase1_a.up.sql': 'CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (x);',
        '0001_phase1_a.down.sql': 'SELECT 1;',
      },
      /cannot run inside a transaction/,
    ],
    [
      'a file that commits by itself',
      { '0001_phase1_a.up.sql': 'BEGIN; SELECT 1; COMMIT;', '0001_phase1_a.down.sql': 'SELECT 1;' },
      /must not control transactions/,
    ],
    [
      'the directive below the first line',
      {
        '0001_phase1_a.up.sql': '-- hello\n-- migrate:no-transaction\nSELECT 1;',
        '0001_phase1_a.down.sql': 'SELECT 1;',
      },
      /must be the first line/,
    ],
    [
      'phases going backwards',
      {
        '0001_phase2_a.up.sql': 'SELECT 1;',
        '0001_phase2_a.down.sql': 'SELECT 1;',
        '0002_phase1_b.up.sql': 'SELECT 1;',
        '0002_phase1_b.down.sql': 'SELECT 1;',
      },
      /phases must not go backwards/,
    ],
    [
      'an empty file',
      { '0001_phase1_a.up.sql': '-- nothing\n', '0001_phase1_a.down.sql': 'SELECT 1;' },
      /holds no SQL statement/,
    ],
  ];
  it.each(bad)('rejects %s, naming the file', async (_label, files, message) => {
    await expect(loadMigrations(dirWith(files))).rejects.toThrow(message);
  });
});
