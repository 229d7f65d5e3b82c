/** Timing, percentiles, progress and table output shared by the DB benchmark. */

export const now = (): bigint => process.hrtime.bigint();
export const msBetween = (a: bigint, b: bigint): number => Number(b - a) / 1e6;
export const msSince = (t0: bigint): number => msBetween(t0, now());
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Summary {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile: every reported number is a latency that was actually observed. */
function rank(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function summarize(ms: number[]): Summary {
  const s = [...ms].sort((a, b) => a - b);
  const round = (v: number) => Math.round(v * 1000) / 1000;
  return {
    n: s.length,
    p50: round(rank(s, 50)),
    p95: round(rank(s, 95)),
    p99: round(rank(s, 99)),
    max: round(s.length ? s[s.length - 1]! : NaN),
    mean: round(s.length ? s.reduce((a, b) => a + b, 0) / s.length : NaN),
  };
}

/** Deterministic PRNG (mulberry32): two runs sample the same users and generate the same rows. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
export const fmtMs = (n: number): string =>
  Number.isFinite(n) ? (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2)) : '-';
export const fmtMb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/**
 * A stderr progress line. On a terminal it rewrites one line; in a log (CI, `| tee`) carriage
 * returns would pile up into one giant line, so it prints a fresh line every few seconds instead.
 */
export class Progress {
  private readonly t0 = now();
  // Starts "just printed": a rate from the first few milliseconds is meaningless.
  private last = Date.now();
  private readonly tty = Boolean(process.stderr.isTTY);
  constructor(
    private readonly label: string,
    private readonly total: number,
  ) {}

  private line(n: number): string {
    const s = msSince(this.t0) / 1000;
    const rate = fmtInt(n / Math.max(s, 1e-9));
    return `${this.label}: ${fmtInt(n)}/${fmtInt(this.total)} rows, ${rate} rows/s, ${s.toFixed(1)} s`;
  }

  update(n: number): void {
    const t = Date.now();
    if (t - this.last < (this.tty ? 200 : 5000)) return;
    this.last = t;
    process.stderr.write(this.tty ? `\r\x1b[K${this.line(n)}` : `${this.line(n)}\n`);
  }

  done(n: number): void {
    process.stderr.write(this.tty ? `\r\x1b[K${this.line(n)}\n` : `${this.line(n)}\n`);
  }
}

export function note(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

/** Aligned text table; a row with one cell is a section heading spanning the table. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.filter((r) => r.length > 1).map((r) => (r[i] ?? '').length)),
  );
  const total = widths.reduce((a, b) => a + b, 0) + 3 * (widths.length - 1);
  const fmt = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ');
  const out = [fmt(header), '-'.repeat(total)];
  for (const r of rows) out.push(r.length === 1 ? `${r[0]}` : fmt(r));
  return out.join('\n');
}

/** A positive whole number from the environment ("1_000_000" allowed), or the fallback when unset. */
export function envInt<F extends number | undefined>(name: string, fallback: F): number | F {
  const raw = process.env[name]?.trim();
  if (!raw) return fallback;
  const n = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return n;
}
