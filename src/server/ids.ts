/**
 * Ids of bigint identity rows travel as decimal strings (JSON numbers lose precision past 2^53).
 * The route schemas check the shape; this checks the range, because a 19-digit number above
 * PostgreSQL's bigint maximum names no row and would fail the query instead of finding nothing.
 * An id param whose schema uses ID_PATTERN is checked for every request before validation
 * (http/input-guard.ts): anything else than a bigint id there is its route's 404.
 */
const MAX_BIGINT = 9223372036854775807n;

export const ID_PATTERN = '^[1-9][0-9]{0,18}$';

/** The JSON schema of a bigint id (in params, bodies, query strings). */
export const bigintId = { type: 'string', pattern: ID_PATTERN } as const;

export function isBigintId(id: string): boolean {
  return /^[1-9]\d{0,18}$/.test(id) && BigInt(id) <= MAX_BIGINT;
}

/** Names of the properties of a params schema that hold bigint ids. */
export function bigintIdParams(schema: unknown): string[] {
  const properties = (schema as { properties?: Record<string, { pattern?: string }> } | undefined)?.properties;
  return Object.entries(properties ?? {})
    .filter(([, property]) => property?.pattern === ID_PATTERN)
    .map(([name]) => name);
}
