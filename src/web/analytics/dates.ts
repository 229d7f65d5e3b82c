/**
 * Date ranges of the analytics page: calendar days (YYYY-MM-DD) in the viewer's time zone, inclusive at
 * both ends, as the API takes them. Pure functions over day strings (no Date arithmetic in local time,
 * which a daylight-saving change would shift by an hour).
 */
export const PRESETS = [7, 30, 90] as const;
/** The API refuses longer ranges (ANALYTICS_RANGE_INVALID); the form says so before asking. */
export const MAX_RANGE_DAYS = 366;

export interface DayRange {
  from: string;
  to: string;
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const MS_PER_DAY = 86_400_000;

/** Days since 1970-01-01 of a YYYY-MM-DD, or null when it is not a real calendar day. */
export function dayNumber(day: string): number | null {
  const match = DAY.exec(day);
  if (!match) return null;
  const ms = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  return dayString(ms / MS_PER_DAY) === day ? ms / MS_PER_DAY : null;
}

export function dayString(dayNum: number): string {
  return new Date(dayNum * MS_PER_DAY).toISOString().slice(0, 10);
}

/** Today's calendar day in a time zone (the browser's by default). */
export function today(now: Date = new Date(), timeZone?: string): string {
  // en-CA formats as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}

/** The last `days` days ending today: 7 days = today and the 6 before it. */
export function presetRange(days: number, todayDay: string): DayRange {
  const end = dayNumber(todayDay);
  if (end === null) throw new Error(`not a day: ${todayDay}`);
  return { from: dayString(end - days + 1), to: todayDay };
}

/** Which preset a range is (for aria-pressed on its button), or null for a custom range. */
export function presetOf(range: DayRange, todayDay: string): number | null {
  return (
    PRESETS.find((days) => {
      const preset = presetRange(days, todayDay);
      return preset.from === range.from && preset.to === range.to;
    }) ?? null
  );
}

/** Number of days in the range, both ends counted. */
export function rangeDays(range: DayRange): number {
  const from = dayNumber(range.from);
  const to = dayNumber(range.to);
  return from === null || to === null ? 0 : to - from + 1;
}

/** Why the range cannot be asked for, in words, or null when it can. */
export function rangeProblem(range: DayRange): string | null {
  const from = dayNumber(range.from);
  const to = dayNumber(range.to);
  if (from === null || to === null) return 'Enter both dates.';
  if (from > to) return 'The start date is after the end date.';
  if (to - from + 1 > MAX_RANGE_DAYS) return `A range can be at most ${MAX_RANGE_DAYS} days.`;
  return null;
}

/** The viewer's IANA time zone, UTC when the browser does not say. */
export function viewerTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}
