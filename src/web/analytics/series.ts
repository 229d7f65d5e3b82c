/**
 * Shapes the summary's arrays into what the page shows: per chart, the series uPlot draws (x = the day's
 * UTC midnight in seconds, drawn with a UTC axis so the label is the API's calendar day whatever the
 * viewer's zone) and the table behind it, which is also its CSV. Rates become percentages with one decimal
 * in both, so the table, the CSV and the tooltip all say the same number. Missing values stay null (a gap
 * in the line, "—" in the table, an empty CSV cell): a day without sessions has no completion rate, not 0.
 */
import type { Cell, Table } from './csv.ts';
import { dayNumber } from './dates.ts';
import type { BreakdownRow, DayRow, Rate, SessionRow, Summary, ValueCount } from './types.ts';

export type Unit = 'count' | 'percent' | 'seconds';

export interface Series {
  label: string;
  values: (number | null)[];
  color: string;
}

export interface DayChart {
  id: string;
  title: string;
  unit: Unit;
  /** Seconds since 1970 of each day's UTC midnight. */
  x: number[];
  series: Series[];
  table: Table;
}

/** Outcome colours, checked for 3:1 contrast on the page background (WCAG non-text contrast). */
export const COLORS = {
  completed: '#1a7f37',
  interrupted: '#c4331f',
  discarded: '#6e7781',
  started: '#0b5cad',
  p50: '#0b5cad',
  p95: '#8250df',
} as const;

/** 0..1 as a percentage with one decimal; null stays null. */
export function percent(rate: Rate): number | null {
  return rate === null ? null : Math.round(rate * 1000) / 10;
}

export function dayToSeconds(day: string): number {
  const num = dayNumber(day);
  if (num === null) throw new Error(`not a day: ${day}`);
  return num * 86_400;
}

function dayChart(
  id: string,
  title: string,
  unit: Unit,
  days: DayRow[],
  columns: { label: string; color: string; value: (d: DayRow) => number | null }[],
): DayChart {
  const series = columns.map((c) => ({ label: c.label, color: c.color, values: days.map(c.value) }));
  return {
    id,
    title,
    unit,
    x: days.map((d) => dayToSeconds(d.day)),
    series,
    table: {
      columns: ['Day', ...columns.map((c) => (unit === 'seconds' ? `${c.label} (s)` : c.label))],
      rows: days.map((d, i) => [d.day, ...series.map((s) => s.values[i] ?? null)]),
    },
  };
}

export function dayCharts(summary: Summary): DayChart[] {
  const days = summary.byDay;
  return [
    dayChart('sessions-per-day', 'Sessions per day by outcome', 'count', days, [
      { label: 'Started', color: COLORS.started, value: (d) => d.started },
      { label: 'Completed', color: COLORS.completed, value: (d) => d.completed },
      { label: 'Interrupted', color: COLORS.interrupted, value: (d) => d.interrupted },
      { label: 'Discarded', color: COLORS.discarded, value: (d) => d.discarded },
    ]),
    dayChart('completion-rate', 'Completion rate per day', 'percent', days, [
      { label: 'Completion rate (%)', color: COLORS.completed, value: (d) => percent(d.completionRate) },
    ]),
    dayChart('duration', 'Take length per day', 'seconds', days, [
      { label: 'Median', color: COLORS.p50, value: (d) => d.durationP50 },
      { label: '95th percentile', color: COLORS.p95, value: (d) => d.durationP95 },
    ]),
  ];
}

export interface Breakdown {
  id: string;
  title: string;
  rows: BreakdownRow[];
  table: Table;
}

function breakdown(id: string, title: string, what: string, rows: BreakdownRow[]): Breakdown {
  return {
    id,
    title,
    rows,
    table: {
      columns: [what, 'Sessions', 'Interrupted', 'Interruption rate (%)'],
      rows: rows.map((r) => [r.name, r.sessions, r.interrupted, percent(r.rate)]),
    },
  };
}

export function breakdowns(summary: Summary): Breakdown[] {
  const { byBrowser, byOs, byDevice } = summary.interruptions;
  return [
    breakdown('interruptions-by-browser', 'Interruption rate by browser', 'Browser', byBrowser),
    breakdown('interruptions-by-os', 'Interruption rate by operating system', 'Operating system', byOs),
    breakdown('interruptions-by-device', 'Interruption rate by device', 'Device', byDevice),
  ];
}

export function byTypeTable(summary: Summary): Table {
  return {
    columns: [
      'Type',
      'Started',
      'Completed',
      'Interrupted',
      'Discarded',
      'Completion rate (%)',
      'Median (s)',
      'P95 (s)',
    ],
    rows: summary.byType.map((t) => [
      t.recordingType,
      t.started,
      t.completed,
      t.interrupted,
      t.discarded,
      percent(t.completionRate),
      t.durationP50,
      t.durationP95,
    ]),
  };
}

export function topErrorsTable(summary: Summary): Table {
  return { columns: ['Error', 'Sessions'], rows: summary.topErrors.map((e) => [e.message, e.count]) };
}

export function settingsTable(title: string, values: ValueCount[]): Table {
  return { columns: [title, 'Sessions'], rows: values.map((v) => [v.value, v.count]) };
}

/** What a session ended as, in one word (the list's Outcome column). */
export function outcome(row: Pick<SessionRow, 'status' | 'discarded'>): string {
  if (row.discarded) return 'discarded';
  return row.status;
}

export function sessionsTable(rows: SessionRow[], withUser: boolean): Table {
  const cells = (r: SessionRow): Cell[] => [
    r.id,
    ...(withUser ? [r.user?.email ?? null] : []),
    r.startedAt,
    r.recordingType,
    outcome(r),
    r.duration,
    r.browser,
    r.os,
    r.deviceKind,
    r.errorMessage,
  ];
  return {
    columns: [
      'Session',
      ...(withUser ? ['User'] : []),
      'Started',
      'Type',
      'Outcome',
      'Length (s)',
      'Browser',
      'OS',
      'Device',
      'Error',
    ],
    rows: rows.map(cells),
  };
}

/** The largest value of a chart (for the y scale: never below 1, so an empty range still has an axis). */
export function maxValue(chart: Pick<DayChart, 'series'>): number {
  let max = 0;
  for (const s of chart.series) for (const v of s.values) if (v !== null && v > max) max = v;
  return Math.max(1, max);
}
