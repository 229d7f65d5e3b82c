import type { ReactNode } from 'react';
import type { Cell, Table } from '../../../analytics/csv.ts';
import { csvFilename, toCsv } from '../../../analytics/csv.ts';
import type { DayRange } from '../../../analytics/dates.ts';
import { downloadText } from '../../../analytics/download.ts';

const shown = (cell: Cell) => (cell === null || cell === undefined || cell === '' ? '—' : String(cell));

/** A real <table> of a chart's numbers (the accessible view, and what its CSV holds). */
export function DataTable({ table, caption, testId }: { table: Table; caption: string; testId?: string }) {
  // A column of numbers is right-aligned, its header too, so digits line up under it.
  const numeric = table.columns.map((_, c) => table.rows.some((row) => typeof row[c] === 'number'));
  return (
    <div className="table-scroll">
      <table className="data-table" data-testid={testId}>
        <caption className="sr-only">{caption}</caption>
        <thead>
          <tr>
            {table.columns.map((c, i) => (
              <th key={c} scope="col" className={numeric[i] ? 'num' : undefined}>
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {table.rows.map((row, r) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: rows are positional (a day, a name), never reordered
            <tr key={r}>
              {row.map((cell, c) =>
                c === 0 ? (
                  <th key={table.columns[c]} scope="row">
                    {shown(cell)}
                  </th>
                ) : (
                  <td key={table.columns[c]} className={typeof cell === 'number' ? 'num' : undefined}>
                    {shown(cell)}
                  </td>
                ),
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Downloads the table as CSV, named after what it is and the range it covers. */
export function CsvButton({ table, name, range }: { table: Table; name: string; range: DayRange }) {
  return (
    <button
      type="button"
      className="small"
      onClick={() => downloadText(csvFilename(name, range), toCsv(table))}
      disabled={table.rows.length === 0}
    >
      Download CSV<span className="sr-only"> of {name}</span>
    </button>
  );
}

/** A titled block: the visual, then its table in a <details> and the CSV button. */
export function Panel({
  id,
  title,
  table,
  range,
  children,
  openTable = false,
}: {
  id: string;
  title: string;
  table: Table;
  range: DayRange;
  children?: ReactNode;
  openTable?: boolean;
}) {
  return (
    <section className="analytics-panel" aria-labelledby={`${id}-title`} data-testid={`panel-${id}`}>
      <div className="analytics-panel-head">
        <h2 id={`${id}-title`}>{title}</h2>
        <CsvButton table={table} name={title} range={range} />
      </div>
      {children}
      {children ? (
        <details open={openTable}>
          <summary>Table view</summary>
          <DataTable table={table} caption={title} testId={`table-${id}`} />
        </details>
      ) : (
        <DataTable table={table} caption={title} testId={`table-${id}`} />
      )}
    </section>
  );
}
