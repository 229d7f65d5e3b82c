import { useEffect, useMemo, useState } from 'react';
import { type Filters, fetchInstance, fetchSummary } from '../../analytics/client.ts';
import { presetRange, rangeProblem, today, viewerTimeZone } from '../../analytics/dates.ts';
import { breakdowns, byTypeTable, dayCharts, settingsTable, topErrorsTable } from '../../analytics/series.ts';
import type { Instance, Summary } from '../../analytics/types.ts';
import { Panel } from '../components/analytics/DataTable.tsx';
import { FiltersForm } from '../components/analytics/FiltersForm.tsx';
import { InstancePanel } from '../components/analytics/InstancePanel.tsx';
import { RateBars } from '../components/analytics/RateBars.tsx';
import { SessionDetail } from '../components/analytics/SessionDetail.tsx';
import { SessionsList } from '../components/analytics/SessionsList.tsx';
import { Totals } from '../components/analytics/Totals.tsx';
import { UPlotChart } from '../components/analytics/UPlotChart.tsx';
import { errorText, useDebounced } from '../hooks/util.ts';
import '../components/analytics/analytics.css';

function initialFilters(): Filters {
  const tz = viewerTimeZone();
  return { ...presetRange(30, today(new Date(), tz)), tz, scope: { kind: 'me' }, recordingType: '' };
}

/** A user-id or project-id scope waits for its id; a range the API would refuse is not asked for. */
function askable(f: Filters): boolean {
  if (rangeProblem(f)) return false;
  if (f.scope.kind === 'user') return /^\d+$/.test(f.scope.userId);
  if (f.scope.kind === 'project') return /^\d+$/.test(f.scope.projectId);
  return true;
}

/** Am I an administrator? The instance route answers only them (404 for anyone else). */
function useInstance(): { instance: Instance | null; error: string | null } {
  const [instance, setInstance] = useState<Instance | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    fetchInstance().then(setInstance, (err: unknown) => setError(errorText(err)));
  }, []);
  return { instance, error };
}

/** Recording sessions over a date range: how many, how they ended, on what, and each one to debug. */
export function AnalyticsPage() {
  const [draft, setDraft] = useState<Filters>(initialFilters);
  // Typing a date or an id asks once the typing pauses, not on every key.
  const filters = useDebounced(draft, 300);
  const [summary, setSummary] = useState<Summary | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const { instance, error: instanceError } = useInstance();
  const admin = instance !== null;
  const ready = askable(filters);

  useEffect(() => {
    if (!ready) return;
    let live = true;
    setError(null);
    fetchSummary(filters).then(
      (s) => live && setSummary(s),
      (err: unknown) => live && setError(errorText(err)),
    );
    return () => {
      live = false;
    };
  }, [filters, ready]);

  const charts = useMemo(() => (summary ? dayCharts(summary) : []), [summary]);
  const bars = useMemo(() => (summary ? breakdowns(summary) : []), [summary]);
  const range = summary?.range ?? filters;

  return (
    <section className="analytics">
      <h1>Analytics</h1>
      <p className="muted">Recording sessions: every take started, how it ended, and why it failed.</p>
      <FiltersForm filters={draft} onChange={setDraft} admin={admin} />
      {error && <p role="alert">The numbers could not be loaded: {error}</p>}
      {!summary && !error && <p role="status">Loading…</p>}
      {summary && (
        <div data-testid="analytics-summary" data-from={summary.range.from} data-to={summary.range.to}>
          <Totals totals={summary.totals} />
          <div className="analytics-grid">
            {charts.map((chart) => (
              <Panel key={chart.id} id={chart.id} title={chart.title} table={chart.table} range={range}>
                <UPlotChart chart={chart} />
              </Panel>
            ))}
            {bars.map((b) => (
              <Panel key={b.id} id={b.id} title={b.title} table={b.table} range={range}>
                <RateBars breakdown={b} />
              </Panel>
            ))}
            <Panel id="by-type" title="By recording type" table={byTypeTable(summary)} range={range} />
            <Panel id="top-errors" title="Top errors" table={topErrorsTable(summary)} range={range} />
            <Panel
              id="quality"
              title="Quality used"
              table={settingsTable('Quality', summary.settings.quality)}
              range={range}
            />
            <Panel id="mode" title="Mode used" table={settingsTable('Mode', summary.settings.mode)} range={range} />
          </div>
        </div>
      )}
      {ready && <SessionsList filters={filters} admin={admin} selected={selected} onSelect={setSelected} />}
      {selected && <SessionDetail id={selected} onClose={() => setSelected(null)} />}
      {instanceError && <p role="alert">The instance panel could not be loaded: {instanceError}</p>}
      {instance && <InstancePanel instance={instance} />}
    </section>
  );
}
