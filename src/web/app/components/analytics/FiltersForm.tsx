import { RECORDING_TYPES } from '../../../../shared/domain.ts';
import type { Filters, Scope } from '../../../analytics/client.ts';
import { PRESETS, presetOf, presetRange, rangeProblem, today } from '../../../analytics/dates.ts';
import { modeLabel } from '../../format.ts';

type ScopeKind = Scope['kind'];

function scopeFrom(kind: ScopeKind, id: string): Scope {
  if (kind === 'user') return { kind, userId: id };
  if (kind === 'project') return { kind, projectId: id };
  return { kind };
}

const scopeId = (scope: Scope) =>
  scope.kind === 'user' ? scope.userId : scope.kind === 'project' ? scope.projectId : '';

/** Date range (inputs + presets), recording type and, for an administrator, whose sessions. */
export function FiltersForm({
  filters,
  onChange,
  admin,
}: {
  filters: Filters;
  onChange: (f: Filters) => void;
  admin: boolean;
}) {
  const todayDay = today(new Date(), filters.tz);
  const active = presetOf(filters, todayDay);
  const problem = rangeProblem(filters);
  return (
    <form className="analytics-filters" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
      <fieldset>
        <legend>Dates</legend>
        {PRESETS.map((days) => (
          <button
            key={days}
            type="button"
            className="small"
            aria-pressed={active === days}
            onClick={() => onChange({ ...filters, ...presetRange(days, todayDay) })}
          >
            Last {days} days
          </button>
        ))}
        <label>
          From{' '}
          <input
            type="date"
            value={filters.from}
            max={filters.to}
            onChange={(e) => onChange({ ...filters, from: e.target.value })}
          />
        </label>
        <label>
          To{' '}
          <input
            type="date"
            value={filters.to}
            min={filters.from}
            onChange={(e) => onChange({ ...filters, to: e.target.value })}
          />
        </label>
        <span className="muted">({filters.tz})</span>
      </fieldset>
      <label>
        Type{' '}
        <select value={filters.recordingType} onChange={(e) => onChange({ ...filters, recordingType: e.target.value })}>
          <option value="">All types</option>
          {RECORDING_TYPES.map((t) => (
            <option key={t} value={t}>
              {modeLabel(t)}
            </option>
          ))}
        </select>
      </label>
      {admin && <ScopeFields filters={filters} onChange={onChange} />}
      {problem && <p role="alert">{problem}</p>}
    </form>
  );
}

function ScopeFields({ filters, onChange }: { filters: Filters; onChange: (f: Filters) => void }) {
  const kind = filters.scope.kind;
  const id = scopeId(filters.scope);
  return (
    <fieldset>
      <legend>Whose sessions</legend>
      <label>
        Scope{' '}
        <select
          value={kind}
          onChange={(e) => onChange({ ...filters, scope: scopeFrom(e.target.value as ScopeKind, id) })}
        >
          <option value="me">Mine</option>
          <option value="all">Everyone</option>
          <option value="user">One user (id)</option>
          <option value="project">One project (id)</option>
        </select>
      </label>
      {(kind === 'user' || kind === 'project') && (
        <label>
          {kind === 'user' ? 'User id' : 'Project id'}{' '}
          <input
            inputMode="numeric"
            value={id}
            onChange={(e) => onChange({ ...filters, scope: scopeFrom(kind, e.target.value.trim()) })}
          />
        </label>
      )}
    </fieldset>
  );
}
