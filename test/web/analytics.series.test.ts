import { describe, expect, it } from 'vitest';
import { filterQuery, type Filters } from '../../src/web/analytics/client.ts';
import { toCsv } from '../../src/web/analytics/csv.ts';
import {
  breakdowns,
  byTypeTable,
  dayCharts,
  maxValue,
  outcome,
  percent,
  sessionsTable,
  settingsTable,
  topErrorsTable,
} from '../../src/web/analytics/series.ts';
import type { SessionRow, Summary } from '../../src/web/analytics/types.ts';

const counts = { started: 0, completed: 0, interrupted: 0, discarded: 0 };
const none = { completionRate: null, durationP50: null, durationP95: null };

const summary: Summary = {
  range: { from: '2026-11-01', to: '2026-11-03', tz: 'Europe/Paris' },
  totals: {
    started: 5,
    completed: 2,
    interrupted: 2,
    discarded: 1,
    active: 0,
    completionRate: 0.4,
    durationP50: 30,
    durationP95: 118,
  },
  byDay: [
    {
      day: '2026-11-01',
      started: 3,
      completed: 2,
      interrupted: 1,
      discarded: 0,
      completionRate: 2 / 3,
      durationP50: 30,
      durationP95: 57,
    },
    { day: '2026-11-02', ...counts, ...none },
    {
      day: '2026-11-03',
      started: 2,
      completed: 0,
      interrupted: 1,
      discarded: 1,
      completionRate: 0,
      durationP50: 12,
      durationP95: 120,
    },
  ],
  byType: [
    {
      recordingType: 'camera',
      ...counts,
      started: 5,
      completed: 2,
      completionRate: 0.4,
      durationP50: 30,
      durationP95: 118,
    },
  ],
  topErrors: [{ message: 'Camera disconnected', count: 2 }],
  interruptions: {
    byBrowser: [{ name: 'Chrome', sessions: 3, interrupted: 1, rate: 1 / 3 }],
    byOs: [{ name: 'Linux', sessions: 5, interrupted: 2, rate: 0.4 }],
    byDevice: [],
  },
  settings: { quality: [{ value: 'high', count: 4 }], mode: [{ value: 'camera', count: 5 }] },
};

describe('percent', () => {
  it('turns a 0..1 rate into a percentage with one decimal; no rate stays none', () => {
    expect(percent(2 / 3)).toBe(66.7);
    expect(percent(0)).toBe(0);
    expect(percent(1)).toBe(100);
    expect(percent(null)).toBeNull();
  });
});

describe('dayCharts', () => {
  const [sessions, rate, duration] = dayCharts(summary);
  it('puts every day on the x axis at its UTC midnight (the axis is drawn in UTC)', () => {
    expect(sessions!.x).toEqual([
      Date.UTC(2026, 10, 1) / 1000,
      Date.UTC(2026, 10, 2) / 1000,
      Date.UTC(2026, 10, 3) / 1000,
    ]);
  });
  it('draws started and each outcome per day, and tables the same numbers', () => {
    expect(sessions!.series.map((s) => [s.label, s.values])).toEqual([
      ['Started', [3, 0, 2]],
      ['Completed', [2, 0, 0]],
      ['Interrupted', [1, 0, 1]],
      ['Discarded', [0, 0, 1]],
    ]);
    expect(sessions!.table.columns).toEqual(['Day', 'Started', 'Completed', 'Interrupted', 'Discarded']);
    expect(sessions!.table.rows[0]).toEqual(['2026-11-01', 3, 2, 1, 0]);
  });
  it('leaves a gap, not a zero, on a day without a rate or a duration', () => {
    expect(rate!.series[0]!.values).toEqual([66.7, null, 0]);
    expect(rate!.table.rows[1]).toEqual(['2026-11-02', null]);
    expect(duration!.series.map((s) => s.values)).toEqual([
      [30, null, 12],
      [57, null, 120],
    ]);
    expect(duration!.table.columns).toEqual(['Day', 'Median (s)', '95th percentile (s)']);
  });
  it('is what the CSV holds', () => {
    expect(toCsv(rate!.table)).toBe('Day,Completion rate (%)\r\n2026-11-01,66.7\r\n2026-11-02,\r\n2026-11-03,0\r\n');
  });
  it('scales to the largest value, at least 1 so an empty range still has an axis', () => {
    expect(maxValue(sessions!)).toBe(3);
    expect(maxValue({ series: [{ label: 'x', color: '#000', values: [null, 0] }] })).toBe(1);
  });
});

describe('tables', () => {
  it('breakdowns: one per browser, OS and device, rate as a percentage', () => {
    const [browser, os, device] = breakdowns(summary);
    expect(browser!.table).toEqual({
      columns: ['Browser', 'Sessions', 'Interrupted', 'Interruption rate (%)'],
      rows: [['Chrome', 3, 1, 33.3]],
    });
    expect(os!.table.rows).toEqual([['Linux', 5, 2, 40]]);
    expect(device!.table.rows).toEqual([]);
  });
  it('by type, top errors and settings', () => {
    expect(byTypeTable(summary).rows).toEqual([['camera', 5, 2, 0, 0, 40, 30, 118]]);
    expect(topErrorsTable(summary).rows).toEqual([['Camera disconnected', 2]]);
    expect(settingsTable('Quality', summary.settings.quality)).toEqual({
      columns: ['Quality', 'Sessions'],
      rows: [['high', 4]],
    });
  });
  it('sessions: the user column only when several users are listed; discarded is an outcome', () => {
    const row: SessionRow = {
      id: '7',
      user: { id: '1', displayName: 'Ann', email: 'ann@example.com' },
      recordingType: 'screen',
      status: 'completed',
      discarded: true,
      startedAt: '2026-11-01T10:00:00.000Z',
      endedAt: '2026-11-01T10:01:00.000Z',
      duration: 60,
      browser: 'Firefox',
      os: 'Linux',
      deviceKind: 'desktop',
      errorMessage: null,
      recordingId: null,
    };
    expect(outcome(row)).toBe('discarded');
    expect(outcome({ status: 'interrupted', discarded: false })).toBe('interrupted');
    expect(sessionsTable([row], false).rows[0]).toEqual([
      '7',
      '2026-11-01T10:00:00.000Z',
      'screen',
      'discarded',
      60,
      'Firefox',
      'Linux',
      'desktop',
      null,
    ]);
    expect(sessionsTable([row], true).columns[1]).toBe('User');
    expect(sessionsTable([row], true).rows[0]![1]).toBe('ann@example.com');
  });
});

describe('filterQuery', () => {
  const base: Filters = {
    from: '2026-11-01',
    to: '2026-11-30',
    tz: 'Europe/Paris',
    scope: { kind: 'me' },
    recordingType: '',
  };
  const parse = (q: string) => Object.fromEntries(new URLSearchParams(q));
  it('sends the range and zone, and nothing an ordinary user may not ask', () => {
    expect(parse(filterQuery(base))).toEqual({ from: '2026-11-01', to: '2026-11-30', tz: 'Europe/Paris' });
  });
  it("sends the administrator's scope and the type when chosen", () => {
    expect(parse(filterQuery({ ...base, scope: { kind: 'all' }, recordingType: 'audio' }))).toMatchObject({
      scope: 'all',
      recordingType: 'audio',
    });
    expect(parse(filterQuery({ ...base, scope: { kind: 'user', userId: '12' } }))).toMatchObject({ userId: '12' });
    expect(parse(filterQuery({ ...base, scope: { kind: 'project', projectId: '3' } }))).toMatchObject({
      projectId: '3',
    });
  });
  it('adds paging and skips empty extras', () => {
    expect(parse(filterQuery(base, { status: '', after: 'abc', limit: 25 }))).toMatchObject({
      after: 'abc',
      limit: '25',
    });
    expect(parse(filterQuery(base, { status: '' })).status).toBeUndefined();
  });
});
