/** A scrape of /metrics parsed by a Prometheus text-format parser, and the values a test compares. */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

type Families = ReturnType<typeof parsePrometheusTextFormat>;

export interface Scrape {
  /** The families as exposed: name, help, type. */
  families: Families;
  /**
   * The same text with histograms' TYPE lines left out: parse-prometheus-text-format folds a labelled
   * histogram into one sample without its labels (it handles unlabelled ones only), so here each
   * histogram's _bucket, _sum and _count are plain samples that keep their labels (one family per label
   * set, as prom-client prints them together: samplesOf gathers them).
   */
  samples: Families;
}

export async function scrape(url: string, headers: Record<string, string> = {}): Promise<Scrape> {
  const res = await fetch(`${url}/metrics`, { headers });
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}: ${await res.text()}`);
  const text = await res.text();
  const untyped = text
    .split('\n')
    .filter((line) => !/^# TYPE \S+ histogram$/.test(line))
    .join('\n');
  return { families: parsePrometheusTextFormat(text), samples: parsePrometheusTextFormat(untyped) };
}

const matches = (have: Record<string, string> | undefined, want: Record<string, string>) =>
  Object.entries(want).every(([k, v]) => have?.[k] === v);

export const familyOf = (s: Scrape, name: string) => s.families.find((f) => f.name === name);

/**
 * The sum of the samples named `name` whose labels include `labels` (0 when none): a counter's or a
 * gauge's value; for a histogram's observation count ask for `<name>_count`.
 */
export function sampleOf(s: Scrape, name: string, labels: Record<string, string> = {}): number {
  return samplesOf(s, name)
    .filter((m) => matches(m.labels, labels))
    .reduce((sum, m) => sum + Number(m.value), 0);
}

const samplesOf = (s: Scrape, name: string) => s.samples.filter((f) => f.name === name).flatMap((f) => f.metrics);

/** The label sets a family's samples carry (a histogram's: its _count samples'). */
export function labelSets(s: Scrape, name: string): Record<string, string>[] {
  const own = samplesOf(s, name);
  return (own.length ? own : samplesOf(s, `${name}_count`)).map((m) => m.labels ?? {});
}
