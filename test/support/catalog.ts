import type pg from 'pg';

/**
 * A normalised description of everything user-defined in the public schema: tables, columns,
 * constraints, indexes, triggers, functions. Two equal snapshots mean two equal schemas.
 */
export async function catalogSnapshot(c: pg.Client): Promise<Record<string, string[]>> {
  const q = async (sql: string) => (await c.query<{ d: string }>(sql)).rows.map((r) => r.d);
  return {
    tables: await q(
      `SELECT relname || ':' || relkind::text AS d FROM pg_class
      WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r','p','v','m','S') ORDER BY 1`,
    ),
    columns: await q(`SELECT c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
        || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
        || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
        || CASE WHEN a.attidentity <> '' THEN ' identity ' || a.attidentity::text ELSE '' END AS d
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY 1`),
    constraints: await q(`SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
        || CASE WHEN convalidated THEN '' ELSE ' NOT VALIDATED' END AS d
      FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1`),
    indexes: await q(`SELECT pg_get_indexdef(i.indexrelid) || CASE WHEN i.indisvalid THEN '' ELSE ' INVALID' END AS d
      FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE c.relnamespace = 'public'::regnamespace ORDER BY 1`),
    triggers: await q(`SELECT pg_get_triggerdef(oid) AS d FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1`),
    functions: await q(
      `SELECT p.proname || '(' || pg_get_function_arguments(p.oid) || ') ' || md5(p.prosrc) AS d
      FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace ORDER BY 1`,
    ),
  };
}
