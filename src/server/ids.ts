/**
 * Ids of bigint identity rows travel as decimal strings (JSON numbers lose precision past 2^53).
 * The route schemas check the shape; this checks the range, because a 19-digit number above
 * PostgreSQL's bigint maximum names no row and would fail the query instead of finding nothing.
 */
const MAX_BIGINT = 9223372036854775807n;

export const ID_PATTERN = '^[1-9][0-9]{0,18}$';

export function isBigintId(id: string): boolean {
  return /^[1-9]\d{0,18}$/.test(id) && BigInt(id) <= MAX_BIGINT;
}
