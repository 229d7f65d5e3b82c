import { describe, expect, it } from 'vitest';
import { MAX_RANGE_DAYS as SERVER_MAX } from '../../src/server/analytics/analytics.schemas.ts';
import {
  dayNumber,
  dayString,
  MAX_RANGE_DAYS,
  presetOf,
  presetRange,
  rangeDays,
  rangeProblem,
  today,
} from '../../src/web/analytics/dates.ts';

describe('days', () => {
  it('round-trips calendar days and refuses what is not one', () => {
    expect(dayNumber('1970-01-01')).toBe(0);
    expect(dayString(dayNumber('2024-02-29')!)).toBe('2024-02-29');
    expect(dayNumber('2023-02-29')).toBeNull();
    expect(dayNumber('2026-13-01')).toBeNull();
    expect(dayNumber('2026-1-1')).toBeNull();
    expect(dayNumber('')).toBeNull();
  });
  it("today is the day in the viewer's time zone, not UTC's", () => {
    const late = new Date('2026-03-01T23:30:00Z');
    expect(today(late, 'UTC')).toBe('2026-03-01');
    expect(today(late, 'Asia/Tokyo')).toBe('2026-03-02');
    expect(today(late, 'America/Los_Angeles')).toBe('2026-03-01');
  });
});

describe('presets', () => {
  it('end today and count today as one of their days', () => {
    expect(presetRange(7, '2026-03-05')).toEqual({ from: '2026-02-27', to: '2026-03-05' });
    expect(rangeDays(presetRange(7, '2026-03-05'))).toBe(7);
    expect(rangeDays(presetRange(30, '2026-03-05'))).toBe(30);
    expect(rangeDays(presetRange(90, '2026-03-05'))).toBe(90);
  });
  it('cross a daylight-saving change without losing a day (days are not local-time dates)', () => {
    expect(presetRange(7, '2026-03-31')).toEqual({ from: '2026-03-25', to: '2026-03-31' });
  });
  it('are recognised from a range, and a custom range is none of them', () => {
    expect(presetOf(presetRange(30, '2026-03-05'), '2026-03-05')).toBe(30);
    expect(presetOf({ from: '2026-03-01', to: '2026-03-05' }, '2026-03-05')).toBeNull();
    expect(presetOf(presetRange(7, '2026-03-04'), '2026-03-05')).toBeNull();
  });
});

describe('rangeProblem', () => {
  it('accepts a range the API accepts and says what is wrong with one it refuses', () => {
    expect(rangeProblem({ from: '2026-01-01', to: '2026-01-01' })).toBeNull();
    expect(rangeProblem({ from: '', to: '2026-01-01' })).toMatch(/both dates/);
    expect(rangeProblem({ from: '2026-01-02', to: '2026-01-01' })).toMatch(/after the end/);
    const longest = presetRange(MAX_RANGE_DAYS, '2026-12-31');
    expect(rangeProblem(longest)).toBeNull();
    expect(rangeProblem(presetRange(MAX_RANGE_DAYS + 1, '2026-12-31'))).toMatch(/at most 366 days/);
  });
  it("uses the server's limit", () => {
    expect(MAX_RANGE_DAYS).toBe(SERVER_MAX);
  });
});
