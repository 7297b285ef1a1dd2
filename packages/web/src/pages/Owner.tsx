// Owner home: live power flow, status and energy charts for the owner's site (phone first).
import { useMemo, useState } from 'react';
import { alertsApi } from '../api/alerts.ts';
import { sitesApi } from '../api/sites.ts';
import { AlertList } from '../components/AlertList.tsx';
import { EnergySummary } from '../components/EnergySummary.tsx';
import { ErrorNote } from '../components/ErrorNote.tsx';
import { PowerFlow } from '../components/PowerFlow.tsx';
import { SiteChart } from '../components/SiteChart.tsx';
import { StatusBadge } from '../components/StatusBadge.tsx';
import { readingsFromLatest } from '../lib/flow.ts';
import { relativeTime } from '../lib/format.ts';
import { lastCommunication, siteHealth } from '../lib/status.ts';
import { useAsync } from '../lib/use-async.ts';
import { useLiveValues } from '../lib/use-live.ts';

export function OwnerPage({ siteId: wanted }: { siteId?: string }) {
  const sites = useAsync((signal) => sitesApi.list(signal), []);
  const [picked, setPicked] = useState<string>();
  const siteId = wanted ?? picked ?? sites.data?.[0]?.id;
  const site = useAsync(
    (signal) => (siteId ? sitesApi.get(siteId, signal) : Promise.resolve(undefined)),
    [siteId],
  );
  const alerts = useAsync(
    () => (siteId ? alertsApi.list({ siteId, state: 'active' }) : Promise.resolve([])),
    [siteId],
  );
  const nodeIds = useMemo(() => site.data?.nodes.filter((n) => n.active).map((n) => n.id) ?? [], [site.data]);
  const { latest, at } = useLiveValues(siteId, nodeIds);
  const readings = useMemo(() => readingsFromLatest(Object.values(latest).flat()), [latest]);

  if (sites.error) return <ErrorNote error={sites.error} />;
  // A site that is not yours (or does not exist) shows nothing of it, only the hub's answer.
  if (wanted && site.error)
    return (
      <div>
        <h1 tabIndex={-1}>Not available</h1>
        <ErrorNote error={site.error} />
      </div>
    );
  if (sites.data && sites.data.length === 0) return <p>No site is linked to your account yet.</p>;
  const nodes = site.data?.nodes ?? [];
  // Newest stored sample per node: evidence of communication even without a heartbeat.
  const dataAt = Object.fromEntries(
    Object.entries(latest).map(([id, values]) => [id, Math.max(0, ...values.map((v) => Date.parse(v.ts)))]),
  );
  const health = siteHealth(nodes, alerts.data ?? [], Date.now(), dataAt);
  const newestData = Math.max(0, ...Object.values(dataAt));
  const seen = lastCommunication(nodes);
  const lastSeen =
    newestData && (!seen || newestData > Date.parse(seen)) ? new Date(newestData).toISOString() : seen;
  return (
    <div className="owner">
      <div className="page-head">
        <h1>{site.data?.name ?? 'My home'}</h1>
        <StatusBadge health={health} title={`Last communication ${relativeTime(lastSeen)}`} />
      </div>
      {sites.data && sites.data.length > 1 && !wanted && (
        <label className="inline">
          Site{' '}
          <select value={siteId} onChange={(e) => setPicked(e.target.value)}>
            {sites.data.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </label>
      )}
      <ErrorNote error={site.error} />
      <section className="card" aria-labelledby="live-title">
        <div className="card-head">
          <h2 id="live-title">Now</h2>
          <span className="muted" data-testid="last-communication">
            Last communication {relativeTime(lastSeen)}
          </span>
        </div>
        <PowerFlow readings={readings} />
        {(alerts.data ?? []).filter((a) => a.state === 'open').length > 0 && (
          <ul className="alerts">
            {(alerts.data ?? []).map((a) => (
              <li key={a.id} className={`alert-${a.severity}`}>
                {a.message || a.rule}
              </li>
            ))}
          </ul>
        )}
      </section>
      {siteId && site.data && (
        <SiteChart siteId={siteId} timeZone={site.data.timezone} refreshKey={Math.floor(at / 300_000)} />
      )}
      {siteId && <AlertList siteId={siteId} canAck={false} timeZone={site.data?.timezone} />}
      {siteId && site.data && <EnergySummary siteId={siteId} timeZone={site.data.timezone} />}
    </div>
  );
}
