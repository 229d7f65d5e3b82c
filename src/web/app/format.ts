/** Pure formatting helpers for the UI; no DOM, so they are tested under Node. */

/** Seconds (or fractional seconds) as m:ss, or h:mm:ss from an hour on. Negative and NaN read 0:00. */
export function formatDuration(seconds: number): string {
  const s = Number.isFinite(seconds) && seconds > 0 ? Math.floor(seconds) : 0;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${String(m).padStart(2, '0')}:${ss}`;
}

/** Bytes in the unit a person reads at a glance (decimal units, as file managers show them). */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes == null || !Number.isFinite(bytes) || bytes < 0) return '—';
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = bytes / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** Megabytes with one decimal, for the live take status ("3.2 MB"). */
export function formatMB(bytes: number): string {
  return `${(Math.max(0, bytes) / 1_000_000).toFixed(1)} MB`;
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
];

// Creating an Intl formatter costs far more than using one (~1 ms each in Chromium; the library
// renders 50 cards a page): one per locale, reused (measured in bench:library).
const rtfs = new Map<string | undefined, Intl.RelativeTimeFormat>();
const dtfs = new Map<string | undefined, Intl.DateTimeFormat>();

/** "3 minutes ago", "yesterday"; under a minute reads "just now". */
export function relativeTime(iso: string, now: number = Date.now(), locale?: string): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '';
  const diff = Math.round((t - now) / 1000);
  const abs = Math.abs(diff);
  if (abs < 60) return 'just now';
  let rtf = rtfs.get(locale);
  if (!rtf) {
    rtf = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
    rtfs.set(locale, rtf);
  }
  for (const [unit, secs] of UNITS) {
    if (abs >= secs) return rtf.format(Math.trunc(diff / secs), unit);
  }
  return rtf.format(Math.trunc(diff / 60), 'minute');
}

export function formatDateTime(iso: string | Date, locale?: string): string {
  const d = typeof iso === 'string' ? new Date(iso) : iso;
  if (Number.isNaN(d.getTime())) return '';
  let dtf = dtfs.get(locale);
  if (!dtf) {
    dtf = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' });
    dtfs.set(locale, dtf);
  }
  return dtf.format(d);
}

export const MODE_LABELS = {
  camera: 'Camera',
  audio: 'Audio',
  screen: 'Screen',
  'screen-camera': 'Screen + camera',
  slides: 'Slides',
  'slides-camera': 'Slides + camera',
} as const;

export type ModeName = keyof typeof MODE_LABELS;

export function modeLabel(mode: string): string {
  return (MODE_LABELS as Record<string, string>)[mode] ?? mode;
}

/** The title a take gets when the person does not type one: "Camera recording — 25 Nov 2026, 16:20". */
export function defaultTitle(mode: string, at: Date = new Date(), locale?: string): string {
  return `${modeLabel(mode)} recording — ${formatDateTime(at, locale)}`;
}

/** What is safe where, in one line for the live take status. */
export function takeStatusLine(
  s: { durationMs: number; localBytes: number; serverBytes: number },
  storage: 'server' | 'browser',
): string {
  const parts = [`${Math.floor(s.durationMs / 1000)} s recorded`, `${formatMB(s.localBytes)} saved in this browser`];
  if (storage === 'server') parts.push(`${formatMB(s.serverBytes)} on the server`);
  return parts.join(' · ');
}

/** Where a field error from the API belongs: { details: { field } } or Fastify's { errors: [{ field }] }. */
export function fieldErrors(details: unknown, message: string): Record<string, string> {
  const out: Record<string, string> = {};
  const d = details as { field?: unknown; errors?: unknown } | undefined;
  if (d && typeof d.field === 'string') out[d.field] = message;
  const list = Array.isArray(d?.errors) ? d.errors : Array.isArray(details) ? details : [];
  for (const e of list as { field?: unknown; message?: unknown }[]) {
    if (e && typeof e.field === 'string') {
      const name = e.field.replace(/^body\./, '');
      out[name] ??= typeof e.message === 'string' ? e.message : message;
    }
  }
  return out;
}
