import { describe, expect, it } from 'vitest';
import { csvCell, csvFilename, toCsv } from '../../src/web/analytics/csv.ts';

describe('csvCell', () => {
  it('writes numbers, booleans and empty cells plainly', () => {
    expect(csvCell(12)).toBe('12');
    expect(csvCell(-3.5)).toBe('-3.5');
    expect(csvCell(0)).toBe('0');
    expect(csvCell(true)).toBe('true');
    expect(csvCell(null)).toBe('');
    expect(csvCell(undefined)).toBe('');
    expect(csvCell(Number.NaN)).toBe('');
  });
  it('quotes commas, quotes and line breaks, doubling quotes (RFC 4180)', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
  });
  it('keeps a spreadsheet from running text as a formula', () => {
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('-cmd')).toBe("'-cmd");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('\tx')).toBe("'\tx");
  });
});

describe('toCsv', () => {
  it('writes the header then the rows, CRLF-terminated', () => {
    const csv = toCsv({
      columns: ['Day', 'Started', 'Rate (%)'],
      rows: [
        ['2026-11-01', 3, 66.7],
        ['2026-11-02', 0, null],
      ],
    });
    expect(csv).toBe('Day,Started,Rate (%)\r\n2026-11-01,3,66.7\r\n2026-11-02,0,\r\n');
  });
  it('writes just the header for no rows', () => {
    expect(toCsv({ columns: ['Error', 'Sessions'], rows: [] })).toBe('Error,Sessions\r\n');
  });
});

describe('csvFilename', () => {
  it('names the chart and the range', () => {
    expect(csvFilename('Sessions per day by outcome', { from: '2026-11-01', to: '2026-11-30' })).toBe(
      'recorder-sessions-per-day-by-outcome-2026-11-01-to-2026-11-30.csv',
    );
  });
  it('keeps only letters and digits of the name', () => {
    expect(csvFilename('  Top errors!  ', { from: '2026-01-01', to: '2026-01-07' })).toBe(
      'recorder-top-errors-2026-01-01-to-2026-01-07.csv',
    );
    expect(csvFilename('***', { from: '2026-01-01', to: '2026-01-07' })).toBe(
      'recorder-analytics-2026-01-01-to-2026-01-07.csv',
    );
  });
});
