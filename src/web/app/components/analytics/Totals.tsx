import { percent } from '../../../analytics/series.ts';
import type { Summary } from '../../../analytics/types.ts';
import { formatDuration } from '../../format.ts';

/** The range's totals as a definition list (numbers a person reads first). */
export function Totals({ totals }: { totals: Summary['totals'] }) {
  const rate = percent(totals.completionRate);
  const items: [string, string, string][] = [
    ['started', 'Started', String(totals.started)],
    ['completed', 'Completed', String(totals.completed)],
    ['interrupted', 'Interrupted', String(totals.interrupted)],
    ['discarded', 'Discarded', String(totals.discarded)],
    ['active', 'Recording now', String(totals.active)],
    ['completion-rate', 'Completion rate', rate === null ? '—' : `${rate}%`],
    ['p50', 'Median length', totals.durationP50 === null ? '—' : formatDuration(totals.durationP50)],
    ['p95', '95th percentile length', totals.durationP95 === null ? '—' : formatDuration(totals.durationP95)],
  ];
  return (
    <dl className="analytics-totals" data-testid="analytics-totals">
      {items.map(([key, label, value]) => (
        <div key={key} data-key={key}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}
