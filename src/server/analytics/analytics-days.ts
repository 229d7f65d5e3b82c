/**
 * Calendar days written YYYY-MM-DD, counted as UTC dates: a day's name does not depend on the time zone,
 * only which instants it holds does (and that is PostgreSQL's job, analytics.repository.ts).
 */
const MS_PER_DAY = 86_400_000;

const toTime = (day: string) => Date.parse(`${day}T00:00:00Z`);

/** The day `n` days after `day` (n may be negative). */
export function dayAfter(day: string, n: number): string {
  return new Date(toTime(day) + n * MS_PER_DAY).toISOString().slice(0, 10);
}

/** Days from `from` to `to` (0 for the same day, negative when `to` is earlier). */
export function daysBetween(from: string, to: string): number {
  return Math.round((toTime(to) - toTime(from)) / MS_PER_DAY);
}

/** Today's date in the time zone (an IANA name PostgreSQL knows; Intl knows the same database). */
export function todayIn(tz: string, now = new Date()): string {
  try {
    return new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(
      now,
    );
  } catch {
    // A name PostgreSQL has and ICU lacks (a rare alias): UTC's today is at most a day off.
    return now.toISOString().slice(0, 10);
  }
}
