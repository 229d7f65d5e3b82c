/**
 * Just enough of PostgreSQL's lexer to split a file into statements: semicolons inside strings,
 * quoted identifiers, dollar-quoted bodies and comments do not end a statement.
 */
export function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      const eol = sql.indexOf('\n', i);
      i = eol === -1 ? n : eol + 1;
    } else if (c === '/' && next === '*') {
      i = afterBlockComment(sql, i);
    } else if (c === "'" || c === '"') {
      const escapes = c === "'" && /[eE]/.test(sql[i - 1] ?? '') && !/[\w$]/.test(sql[i - 2] ?? '');
      i++;
      while (i < n) {
        if (escapes && sql[i] === '\\') i += 2;
        else if (sql[i] === c && sql[i + 1] === c) i += 2;
        else if (sql[i] === c) break;
        else i++;
      }
      i++;
    } else if (c === '$' && !/[\w$]/.test(sql[i - 1] ?? '')) {
      const m = /^\$([A-Za-z_][\w]*)?\$/.exec(sql.slice(i));
      if (m) {
        const close = sql.indexOf(m[0], i + m[0].length);
        i = close === -1 ? n : close + m[0].length;
      } else i++;
    } else if (c === ';') {
      out.push(sql.slice(start, i));
      i++;
      start = i;
    } else i++;
  }
  out.push(sql.slice(start));
  return out.map((s) => s.trim()).filter((s) => stripComments(s).trim() !== '');
}

/** Index just past the (possibly nested) block comment starting at i. */
function afterBlockComment(sql: string, i: number): number {
  let depth = 1;
  i += 2;
  while (i < sql.length && depth > 0) {
    if (sql[i] === '/' && sql[i + 1] === '*') {
      depth++;
      i += 2;
    } else if (sql[i] === '*' && sql[i + 1] === '/') {
      depth--;
      i += 2;
    } else i++;
  }
  return i;
}

/** Removes -- and /* *\/ comments (outside strings) so a statement can be matched by keyword. */
export function stripComments(sql: string): string {
  let out = '';
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (c === '-' && sql[i + 1] === '-') {
      const eol = sql.indexOf('\n', i);
      i = eol === -1 ? n : eol;
    } else if (c === '/' && sql[i + 1] === '*') {
      i = afterBlockComment(sql, i);
      out += ' ';
    } else if (c === "'" || c === '"') {
      const end = sql.indexOf(c, i + 1);
      const stop = end === -1 ? n : end + 1;
      out += sql.slice(i, stop);
      i = stop;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Normalised statement text for keyword matching: comments gone, whitespace collapsed. */
export function normalise(stmt: string): string {
  return stripComments(stmt).replace(/\s+/g, ' ').trim();
}

const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)`;
const QUALIFIED = String.raw`${IDENT}(?:\.${IDENT})?`;

/** `CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS] name ON ...` → { name, ifNotExists }. */
export function concurrentIndexBuild(stmt: string): { name: string; ifNotExists: boolean } | undefined {
  const m = new RegExp(`^CREATE (?:UNIQUE )?INDEX CONCURRENTLY (IF NOT EXISTS )?(${IDENT}) ON `, 'i').exec(
    normalise(stmt),
  );
  return m ? { name: unquote(m[2]!), ifNotExists: Boolean(m[1]) } : undefined;
}

/** `DROP INDEX CONCURRENTLY [IF EXISTS] ...` → { ifExists }. */
export function concurrentIndexDrop(stmt: string): { ifExists: boolean } | undefined {
  const m = /^DROP INDEX CONCURRENTLY (IF EXISTS )?/i.exec(normalise(stmt));
  return m ? { ifExists: Boolean(m[1]) } : undefined;
}

/** Tables and columns whose data a statement destroys (DROP TABLE, TRUNCATE, ALTER TABLE ... DROP COLUMN). */
export function destructiveTargets(stmt: string): { tables: string[]; columns: { table: string; column: string }[] } {
  const s = normalise(stmt);
  const tables: string[] = [];
  const columns: { table: string; column: string }[] = [];
  const drop = new RegExp(
    `^(?:DROP TABLE (?:IF EXISTS )?|TRUNCATE (?:TABLE )?(?:ONLY )?)(${QUALIFIED}(?: ?, ?${QUALIFIED})*)`,
    'i',
  ).exec(s);
  if (drop) {
    for (const t of drop[1]!.split(/ ?, ?/)) tables.push(t.trim());
  }
  const alter = new RegExp(`^ALTER TABLE (?:IF EXISTS )?(?:ONLY )?(${QUALIFIED}) (.*)$`, 'i').exec(s);
  if (alter) {
    const re = new RegExp(`DROP (?:COLUMN )?(?:IF EXISTS )?(${IDENT})`, 'gi');
    for (const m of alter[2]!.matchAll(re)) {
      const col = m[1]!;
      if (/^(CONSTRAINT|DEFAULT|NOT|IDENTITY|EXPRESSION)$/i.test(col)) continue;
      columns.push({ table: alter[1]!, column: unquote(col) });
    }
  }
  return { tables, columns };
}

/** Statements that manage transactions themselves; the engine owns transactions. */
export function isTransactionControl(stmt: string): boolean {
  return /^(BEGIN|COMMIT|ROLLBACK|START TRANSACTION|END|SAVEPOINT|RELEASE)\b/i.test(normalise(stmt));
}

export function unquote(ident: string): string {
  return ident.startsWith('"') ? ident.slice(1, -1).replace(/""/g, '"') : ident.toLowerCase();
}
