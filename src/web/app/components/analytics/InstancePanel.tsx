import type { Instance } from '../../../analytics/types.ts';
import { formatBytes, formatDateTime } from '../../format.ts';
import { Link } from '../../router.tsx';

/** The administrator's view of the instance: storage per provider, processing failures, queue depth. */
export function InstancePanel({ instance }: { instance: Instance }) {
  return (
    <section className="analytics-panel" aria-labelledby="instance-title" data-testid="instance-panel">
      <h2 id="instance-title">Instance</h2>
      <h3>Storage</h3>
      <div className="table-scroll">
        <table className="data-table" data-testid="instance-storage">
          <thead>
            <tr>
              <th scope="col">Provider</th>
              <th scope="col">Bucket</th>
              <th scope="col" className="num">
                Recordings
              </th>
              <th scope="col" className="num">
                Size
              </th>
            </tr>
          </thead>
          <tbody>
            {instance.storage.map((s) => (
              <tr key={`${s.provider}/${s.bucket ?? ''}`}>
                <th scope="row">{s.provider}</th>
                <td>{s.bucket ?? '—'}</td>
                <td className="num">{s.recordings}</td>
                <td className="num">{formatBytes(s.bytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h3>Processing</h3>
      <p data-testid="instance-failures">
        {instance.processing.failed} failed recordings, {instance.processing.failedLast24h} in the last 24 hours.
      </p>
      {instance.processing.recent.length > 0 && (
        <ul>
          {instance.processing.recent.map((r) => (
            <li key={r.recordingId}>
              <Link to={`/recordings/${r.recordingId}`}>{r.title}</Link>{' '}
              <span className="muted">
                {formatDateTime(r.at)}: {r.error ?? 'no message'}
              </span>
            </li>
          ))}
        </ul>
      )}
      <h3>Queues</h3>
      <div className="table-scroll">
        <table className="data-table" data-testid="instance-queues">
          <thead>
            <tr>
              <th scope="col">Queue</th>
              <th scope="col" className="num">
                Queued
              </th>
              <th scope="col" className="num">
                Active
              </th>
              <th scope="col" className="num">
                Failed
              </th>
            </tr>
          </thead>
          <tbody>
            {instance.queues.map((q) => (
              <tr key={q.name}>
                <th scope="row">{q.name}</th>
                <td className="num">{q.queued}</td>
                <td className="num">{q.active}</td>
                <td className="num">{q.failed}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
