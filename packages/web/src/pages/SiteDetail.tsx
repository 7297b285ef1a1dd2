// Installer / admin view of one site: nodes with health and latest values, chart, CSV export,
// enrollment codes for new nodes.
import { type FormEvent, useState } from 'react';
import { nodesApi } from '../api/nodes.ts';
import { orgsApi } from '../api/orgs.ts';
import { type EnrollmentCode, sitesApi } from '../api/sites.ts';
import { telemetryApi } from '../api/telemetry.ts';
import { AlertList } from '../components/AlertList.tsx';
import { BudgetCard } from '../components/BudgetCard.tsx';
import { ChannelControls } from '../components/ChannelControls.tsx';
import { DataQuality } from '../components/DataQuality.tsx';
import { ErrorNote } from '../components/ErrorNote.tsx';
import { GridIntensitySetting } from '../components/GridIntensitySetting.tsx';
import { NodeTools } from '../components/NodeTools.tsx';
import { PowerFlow } from '../components/PowerFlow.tsx';
import { SiteChart } from '../components/SiteChart.tsx';
import { SiteEditForm } from '../components/SiteEditForm.tsx';
import { StatusBadge } from '../components/StatusBadge.tsx';
import { TariffEditor } from '../components/TariffEditor.tsx';
import { VendorSystems } from '../components/VendorSystems.tsx';
import { downloadText, seriesToCsv } from '../lib/csv.ts';
import { readingsFromLatest } from '../lib/flow.ts';
import { dateTime, metricName, metricValue, relativeTime } from '../lib/format.ts';
import { wallTime, wallTimeToUtc, zoneLabel } from '../lib/site-time.ts';
import { isStale, lacksControlChannel } from '../lib/status.ts';
import { useAsync } from '../lib/use-async.ts';
import { useLiveValues } from '../lib/use-live.ts';
import { useLiveFleet } from '../lib/use-live-fleet.ts';
import { Link } from '../router.tsx';
import { useSession } from '../session.tsx';

/** From / to are wall-clock times at the site (its zone), like every time on a site's pages. */
function CsvExport({ siteId, siteName, timeZone }: { siteId: string; siteName: string; timeZone: string }) {
  const [from, setFrom] = useState(() => wallTime(Date.now() - 86_400_000, timeZone));
  const [to, setTo] = useState(() => wallTime(Date.now(), timeZone));
  const [error, setError] = useState<Error>();
  const [note, setNote] = useState('');
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      const answer = await telemetryApi.site(siteId, {
        from: new Date(wallTimeToUtc(from, timeZone)),
        to: new Date(wallTimeToUtc(to, timeZone)),
        step: 'auto',
      });
      const csv = seriesToCsv(answer.series);
      const rows = csv.split('\n').length - 2;
      downloadText(`${siteName.replace(/[^A-Za-z0-9_-]+/g, '_')}_${from}_${to}.csv`, csv);
      setNote(`${rows} rows at ${answer.resolution} resolution`);
    } catch (err) {
      setError(err as Error);
    }
  };
  return (
    <form className="card csv" onSubmit={submit} aria-labelledby="csv-title">
      <h2 id="csv-title">Export CSV</h2>
      <p className="muted">Times in {zoneLabel(timeZone, Date.now())}</p>
      <label>
        From <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} required />
      </label>
      <label>
        To <input type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} required />
      </label>
      <button type="submit">Download CSV</button>
      {note && (
        <span className="muted" data-testid="csv-note">
          {note}
        </span>
      )}
      <ErrorNote error={error} />
    </form>
  );
}

function EnrollmentForm({ siteId, onCreated }: { siteId: string; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [code, setCode] = useState<EnrollmentCode>();
  const [error, setError] = useState<Error>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      setCode(await sitesApi.createEnrollmentCode(siteId, { nodeName: name.trim() || undefined }));
      onCreated();
    } catch (err) {
      setError(err as Error);
    }
  };
  return (
    <form className="card" onSubmit={submit} aria-labelledby="enroll-title">
      <h2 id="enroll-title">Add a node</h2>
      <label>
        Node name (optional) <input value={name} onChange={(e) => setName(e.target.value)} maxLength={100} />
      </label>
      <button type="submit">Create enrollment code</button>
      {code && (
        <p>
          Code <code data-testid="enrollment-code">{code.code}</code>
          {code.expiresAt && <span className="muted"> · valid until {dateTime(code.expiresAt)}</span>}
        </p>
      )}
      <ErrorNote error={error} />
    </form>
  );
}

export function SiteDetailPage({ siteId }: { siteId: string }) {
  const { user } = useSession();
  const site = useAsync((signal) => sitesApi.get(siteId, signal), [siteId]);
  const nodes = site.data?.nodes ?? [];
  const { latest } = useLiveValues(
    siteId,
    nodes.map((n) => n.id),
  );
  const fleetRow = useLiveFleet(siteId);
  const row = fleetRow.data?.find((s) => s.id === siteId);
  const newestData = Math.max(
    0,
    ...Object.values(latest).flatMap((values) => values.map((v) => Date.parse(v.ts))),
  );
  const stale = isStale(row?.health, newestData, fleetRow.now);
  const canManage = user?.role === 'admin' || user?.role === 'installer';
  // Who installs a site is the owner org's decision or an admin's (the hub enforces it).
  const canChangeInstaller = user?.role === 'admin' || user?.role === 'org_admin';
  const orgs = useAsync(() => orgsApi.list(), []);
  const toggle = async (id: string, active: boolean) => {
    await (active ? nodesApi.deactivate(id) : nodesApi.activate(id));
    site.reload();
  };
  if (site.error) return <ErrorNote error={site.error} />;
  if (!site.data) return <p className="muted">Loading…</p>;
  return (
    <div>
      <div className="page-head">
        <h1>{site.data.name}</h1>
        <StatusBadge health={row?.health} />
      </div>
      <p className="muted">
        {site.data.timezone} · {site.data.status}
        {site.data.system_kw ? ` · ${site.data.system_kw} kWp` : ''}
        {user?.role === 'admin' && (
          <>
            {' · '}
            <Link href={`/grants?site=${encodeURIComponent(siteId)}`}>Installer access</Link>
          </>
        )}
        {' · '}
        <Link href={`/sites/${encodeURIComponent(siteId)}/automation`}>Schedules, scenes and rules</Link>
        {' · '}
        <Link href={`/sites/${encodeURIComponent(siteId)}/equipment`}>Equipment and commissioning</Link>
      </p>
      <div className="grid-2">
        <section className="card">
          <h2>Now</h2>
          <PowerFlow
            readings={readingsFromLatest(Object.values(latest).flat())}
            staleSince={stale ? (newestData ? new Date(newestData).toISOString() : null) : undefined}
            now={fleetRow.now}
          />
        </section>
        <section className="card" aria-labelledby="nodes-title">
          <h2 id="nodes-title">Nodes</h2>
          {nodes.length === 0 && <p className="muted">No node enrolled yet.</p>}
          {nodes.map((n) => (
            <article key={n.id} className="node" data-testid="node">
              <header>
                <strong>{n.name}</strong> <span className={`state state-${n.status}`}>{n.status}</span>
                {!n.active && <span className="state state-offline">deactivated</span>}
                {lacksControlChannel(n) && (
                  <span
                    className="state state-nochannel"
                    data-testid="no-control-channel"
                    title="The node is sending data but has no MQTT session with the broker: commands cannot reach it. Check the broker address it was given (MQTT_PUBLIC_URL) or its hub.mqttUrl."
                  >
                    no control channel
                  </span>
                )}
                <span className="muted"> · last seen {relativeTime(n.last_seen_at)}</span>
                {n.agent_version && <span className="muted"> · v{n.agent_version}</span>}
              </header>
              <table className="values">
                <tbody>
                  {(latest[n.id] ?? []).map((v) => (
                    <tr key={`${v.metric}|${v.equipment}`}>
                      <th scope="row" title={v.metric}>
                        {metricName(v.metric)}
                        {v.equipment ? <span className="muted"> ({v.equipment})</span> : null}
                      </th>
                      <td data-metric={v.metric}>{metricValue(v.metric, v.value)}</td>
                      <td className="muted">{relativeTime(v.ts)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {canManage && (
                <div className="actions">
                  <Link href={`/commands?node=${n.id}`}>Commands</Link>
                  <Link href={`/nodes/${n.id}/config`}>Config</Link>
                  <button type="button" onClick={() => void toggle(n.id, n.active)}>
                    {n.active ? 'Deactivate' : 'Activate'}
                  </button>
                </div>
              )}
              {canManage && <NodeTools nodeId={n.id} />}
              <DataQuality
                nodeId={n.id}
                nodeName={n.name}
                title="Data quality"
                compact
                timeZone={site.data?.timezone}
              />
            </article>
          ))}
        </section>
      </div>
      <VendorSystems siteId={siteId} canManage={canManage} />
      <ChannelControls siteId={siteId} />
      <AlertList siteId={siteId} canAck={canManage} timeZone={site.data.timezone} />
      <SiteChart siteId={siteId} timeZone={site.data.timezone} />
      <TariffEditor siteId={siteId} timeZone={site.data.timezone} canEdit={canManage} />
      <BudgetCard siteId={siteId} canEdit={canManage || user?.role === 'org_admin'} />
      <section className="card" id="site-settings" aria-labelledby="site-settings-title">
        <h2 id="site-settings-title">Site settings</h2>
        {(canManage || user?.role === 'org_admin') && (
          <SiteEditForm
            key={site.data.id}
            site={site.data}
            orgs={orgs.data}
            canChangeInstaller={canChangeInstaller}
            onSaved={() => site.reload()}
          />
        )}
        <GridIntensitySetting site={site.data} canEdit={canManage} onSaved={() => site.reload()} />
      </section>
      <div className="grid-2">
        <CsvExport siteId={siteId} siteName={site.data.name} timeZone={site.data.timezone} />
        {canManage && <EnrollmentForm siteId={siteId} onCreated={() => {}} />}
      </div>
    </div>
  );
}
