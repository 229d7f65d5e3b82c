import { describe, expect, it } from 'vitest';
import {
  defaultTitle,
  fieldErrors,
  formatBytes,
  formatDuration,
  formatMB,
  relativeTime,
  takeStatusLine,
} from '../../src/web/app/format.ts';

describe('formatDuration', () => {
  it('shows mm:ss under an hour and h:mm:ss from an hour on', () => {
    expect(formatDuration(0)).toBe('00:00');
    expect(formatDuration(3.9)).toBe('00:03');
    expect(formatDuration(65)).toBe('01:05');
    expect(formatDuration(3599)).toBe('59:59');
    expect(formatDuration(3600)).toBe('1:00:00');
    expect(formatDuration(36_061)).toBe('10:01:01');
  });
  it('reads nonsense as zero', () => {
    expect(formatDuration(-5)).toBe('00:00');
    expect(formatDuration(Number.NaN)).toBe('00:00');
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe('00:00');
  });
});

describe('formatBytes', () => {
  it('uses decimal units with one decimal below ten', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1000)).toBe('1.0 kB');
    expect(formatBytes(1_500_000)).toBe('1.5 MB');
    expect(formatBytes(25_000_000)).toBe('25 MB');
    expect(formatBytes(3_200_000_000)).toBe('3.2 GB');
  });
  it('shows a dash when the size is unknown', () => {
    expect(formatBytes(null)).toBe('—');
    expect(formatBytes(undefined)).toBe('—');
    expect(formatBytes(-1)).toBe('—');
  });
  it('formatMB keeps one decimal', () => {
    expect(formatMB(0)).toBe('0.0 MB');
    expect(formatMB(3_250_000)).toBe('3.3 MB');
  });
});

describe('relativeTime', () => {
  const now = Date.parse('2026-11-25T12:00:00Z');
  it('says just now under a minute', () => {
    expect(relativeTime('2026-11-25T11:59:30Z', now, 'en')).toBe('just now');
  });
  it('picks the largest whole unit', () => {
    expect(relativeTime('2026-11-25T11:55:00Z', now, 'en')).toBe('5 minutes ago');
    expect(relativeTime('2026-11-25T09:00:00Z', now, 'en')).toBe('3 hours ago');
    expect(relativeTime('2026-11-24T12:00:00Z', now, 'en')).toBe('yesterday');
    expect(relativeTime('2026-11-10T12:00:00Z', now, 'en')).toBe('2 weeks ago');
    expect(relativeTime('2025-11-01T12:00:00Z', now, 'en')).toBe('last year');
  });
  it('returns nothing for a date it cannot read', () => {
    expect(relativeTime('not a date', now, 'en')).toBe('');
  });
});

describe('defaultTitle', () => {
  it('names the mode and the time', () => {
    const t = defaultTitle('screen-camera', new Date('2026-11-25T16:20:00'), 'en-GB');
    expect(t.startsWith('Screen + camera recording — ')).toBe(true);
    expect(t).toContain('2026');
    expect(t).toContain('16:20');
  });
});

describe('takeStatusLine', () => {
  it('says what is safe where, the server part only in server mode', () => {
    const s = { durationMs: 12_400, localBytes: 3_200_000, serverBytes: 2_100_000 };
    expect(takeStatusLine(s, 'server')).toBe('12 s recorded · 3.2 MB saved in this browser · 2.1 MB on the server');
    expect(takeStatusLine(s, 'browser')).toBe('12 s recorded · 3.2 MB saved in this browser');
  });
});

describe('fieldErrors', () => {
  it('reads details.field', () => {
    expect(fieldErrors({ field: 'email' }, 'taken')).toEqual({ email: 'taken' });
  });
  it("reads Fastify's validation list (as ApiError.details or wrapped)", () => {
    const list = [
      { field: 'password', message: 'must NOT have fewer than 8 characters' },
      { field: 'email', message: 'must match format "email"' },
    ];
    expect(fieldErrors(list, 'x')).toEqual({
      password: 'must NOT have fewer than 8 characters',
      email: 'must match format "email"',
    });
    expect(fieldErrors({ errors: list }, 'x')).toEqual({
      password: 'must NOT have fewer than 8 characters',
      email: 'must match format "email"',
    });
  });
  it('ignores what it cannot read', () => {
    expect(fieldErrors(undefined, 'x')).toEqual({});
    expect(fieldErrors('nope', 'x')).toEqual({});
  });
});
