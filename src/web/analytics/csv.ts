/**
 * CSV of what a chart or list shows (RFC 4180: comma separated, CRLF rows, quotes doubled). A text cell
 * that starts with = + - @ or a tab is prefixed with ' so a spreadsheet does not run it as a formula
 * (error messages and device names come from browsers, i.e. from anyone). Numbers are written as they are.
 */
export type Cell = string | number | boolean | null | undefined;

export interface Table {
  columns: string[];
  rows: Cell[][];
}

const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(value: Cell): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(table: Table): string {
  const lines = [table.columns, ...table.rows].map((row) => row.map(csvCell).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/** "recorder-sessions-per-day-2026-11-01-to-2026-11-30.csv": the chart's name and the range shown. */
export function csvFilename(name: string, range: { from: string; to: string }): string {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return `recorder-${slug || 'analytics'}-${range.from}-to-${range.to}.csv`;
}
