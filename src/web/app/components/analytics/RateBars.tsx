import { percent, type Breakdown } from '../../../analytics/series.ts';

/**
 * Interruption rate per browser / OS / device as a list of bars in HTML, not a canvas: the categories are
 * names (uPlot's x axis is numeric), a name can be long, and each row reads as a sentence to a screen
 * reader and grows with the text size.
 */
export function RateBars({ breakdown }: { breakdown: Breakdown }) {
  if (breakdown.rows.length === 0) return <p className="muted">No sessions in this range.</p>;
  return (
    <ul className="rate-bars" data-testid={`bars-${breakdown.id}`}>
      {breakdown.rows.map((row) => {
        const pct = percent(row.rate);
        return (
          <li key={row.name}>
            <span className="rate-bars-name">{row.name}</span>
            <span className="rate-bars-track" aria-hidden="true">
              <span className="rate-bars-fill" style={{ width: `${pct ?? 0}%` }} />
            </span>
            <span className="rate-bars-value">
              {pct === null ? '—' : `${pct}%`}{' '}
              <span className="muted">
                ({row.interrupted} of {row.sessions} interrupted)
              </span>
            </span>
          </li>
        );
      })}
    </ul>
  );
}
