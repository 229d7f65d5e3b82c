#!/usr/bin/env node
// Fails (exit 1) when a git-tracked code file has a line longer than 120 characters, printing
// `file:line (length)` for each. Biome's formatter wraps code at 120 columns but leaves long strings,
// comments, SQL and shell alone; this catches those. Markdown and JSON are not checked (tables and
// lock files have long lines by nature). Length counts characters (code points), not bytes.
// Migrations 0001..0015 are exempt (see LAST_UNCHECKED_MIGRATION).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MAX = 120;
const EXTENSIONS = new Set(['.ts', '.tsx', '.js', '.mjs', '.css', '.sql', '.sh']);

// Migrations are frozen: each file's checksum is recorded in every database it ran on, and the migrator
// refuses to run when an applied file no longer matches (MIGRATION_DRIFT), so even re-wrapping a comment
// would break those databases. 0001..0015 landed before the 120-column rule and keep their long lines;
// later migrations are checked like any other file.
const LAST_UNCHECKED_MIGRATION = 15;
const MIGRATION_FILE = /^migrations\/(\d{4})_[^/]*\.sql$/;

function isUncheckedMigration(file) {
  const m = MIGRATION_FILE.exec(file);
  return m !== null && Number(m[1]) >= 1 && Number(m[1]) <= LAST_UNCHECKED_MIGRATION;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const files = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  .split('\0')
  .filter((file) => file && EXTENSIONS.has(path.extname(file)) && !isUncheckedMigration(file));

let failures = 0;
for (const file of files) {
  let text;
  try {
    text = readFileSync(path.join(root, file), 'utf8');
  } catch (err) {
    // Tracked but deleted in the work tree (not yet committed): nothing to check.
    if (err.code === 'ENOENT') continue;
    throw err;
  }
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const length = [...lines[i]].length;
    if (length > MAX) {
      console.log(`${file}:${i + 1} (${length} > ${MAX})`);
      failures++;
    }
  }
}

if (failures > 0) {
  console.error(`check-line-length: ${failures} line(s) longer than ${MAX} characters`);
  process.exit(1);
}
