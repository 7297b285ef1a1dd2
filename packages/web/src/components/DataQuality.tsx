// A node's data-quality findings (hub GET /nodes/{id}/data-quality): readings that broke their
// equipment's data contract, each in words. "No findings" is said only when the hub answered with
// none: while loading or after a failed call nothing claims the data is fine.
import { registryApi } from '../api/equipment-registry.ts';
import { findingCount, findingWords, shortMetricName } from '../lib/equipment.ts';
import { dateTime, metricName, relativeTime } from '../lib/format.ts';
import { useAsync } from '../lib/use-async.ts';
import { ErrorNote } from './ErrorNote.tsx';
import { ScrollTable } from './ScrollTable.tsx';

export function DataQuality({
  nodeId,
  nodeName,
  title,
  timeZone,
  refreshKey,
  compact = false,
}: {
  nodeId: string;
  nodeName: string;
  title: string;
  timeZone?: string | undefined;
  /** Changing it reloads the findings (a page's Refresh). */
  refreshKey?: number;
  /** A list of sentences instead of a table, for a narrow column (a node card). */
  compact?: boolean;
}) {
  const report = useAsync((signal) => registryApi.dataQuality(nodeId, signal), [nodeId, refreshKey]);
  const findings = report.data?.findings ?? [];
  const headingId = `dq-${nodeId}`;
  return (
    <section
      className="data-quality"
      aria-labelledby={headingId}
      data-testid="data-quality"
      data-node={nodeId}
    >
      <h3 id={headingId}>{title}</h3>
      {report.error && <ErrorNote error={report.error} />}
      {!report.data && !report.error && <p className="muted">Loading data quality…</p>}
      {report.data && findings.length === 0 && (
        <p data-testid="dq-none">
          <span className="ok">No findings</span>: every reading fits its equipment's data contract.
        </p>
      )}
      {findings.length > 0 && (
        <>
          <p className="dq-summary" data-testid="dq-summary">
            <span className="state state-failed">
              {findings.length} finding{findings.length === 1 ? '' : 's'}
            </span>{' '}
            Readings that break a data contract are stored, but may be wrong: check the equipment's
            configuration (register map, scaling, units).
          </p>
          {compact ? (
            <ul className="dq-list">
              {findings.map((f) => (
                <li
                  key={`${f.equipment}|${f.metric}|${f.rule}`}
                  data-testid="dq-finding"
                  data-finding-equipment={f.equipment}
                  data-finding-metric={f.metric}
                  data-rule={f.rule}
                >
                  <strong title={`${metricName(f.metric)} (${f.metric})`}>
                    {f.equipment} · {shortMetricName(f.metric)}
                  </strong>
                  : {findingWords(f)}. {findingCount(f)}, last seen{' '}
                  <span title={dateTime(f.lastSeenAt, timeZone)}>{relativeTime(f.lastSeenAt)}</span>{' '}
                  <span className="muted">(contract {f.contract})</span>
                </li>
              ))}
            </ul>
          ) : (
            <ScrollTable label={`Data-quality findings of node ${nodeName}`}>
              <table>
                <thead>
                  <tr>
                    <th scope="col">Equipment</th>
                    <th scope="col">Metric</th>
                    <th scope="col">Problem</th>
                    <th scope="col">Contract</th>
                    <th scope="col">Count</th>
                    <th scope="col">Last seen</th>
                  </tr>
                </thead>
                <tbody>
                  {findings.map((f) => (
                    <tr
                      key={`${f.equipment}|${f.metric}|${f.rule}`}
                      data-testid="dq-finding"
                      data-finding-equipment={f.equipment}
                      data-finding-metric={f.metric}
                      data-rule={f.rule}
                    >
                      <td>{f.equipment}</td>
                      <td title={`${metricName(f.metric)} (${f.metric})`}>{shortMetricName(f.metric)}</td>
                      <td>{findingWords(f)}</td>
                      <td>{f.contract}</td>
                      <td>{findingCount(f)}</td>
                      <td title={dateTime(f.lastSeenAt, timeZone)}>{relativeTime(f.lastSeenAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </ScrollTable>
          )}
        </>
      )}
    </section>
  );
}
