// Owner home: live power flow, status and energy charts for the owner's site (phone first).
import { useMemo, useState } from 'react';
import { alertsApi } from '../api/alerts.ts';
import { sitesApi } from '../api/sites.ts';
import { AlertList } from '../components/AlertList.tsx';
import { ChannelControls } from '../components/ChannelControls.tsx';
import { EnergySummary } from '../components/EnergySummary.tsx';
import { ErrorNote } from '../components/ErrorNote.tsx';
import { EnergyDistribution } from '../components/energy/EnergyDistribution.tsx';
import { GridIntensitySetting } from '../components/GridIntensitySetting.tsx';
import { PowerFlow } from '../components/PowerFlow.tsx';
import { SiteChart } from '../components/SiteChart.tsx';
import { StatusBadge } from '../components/StatusBadge.tsx';
import { TodayTiles } from '../components/TodayTiles.tsx';
import { VendorSystems } from '../components/VendorSystems.tsx';
import { readingsFromLatest } from '../lib/flow.ts';
import { relativeTime } from '../lib/format.ts';
import { isStale } from '../lib/status.ts';
import { useAsync } from '../lib/use-async.ts';
import { useLiveValues } from '../lib/use-live.ts';
import { useLiveFleet } from '../lib/use-live-fleet.ts';
import { Link } from '../router.tsx';
import { useSession } from '../session.tsx';

export function OwnerPage({ siteId: wanted }: { siteId?: string }) {
  const { user } = useSession();
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
  // The hub's health word for this site (the fleet table's rule), kept live; `now` ticks.
  const fleetRow = useLiveFleet(siteId);
  const row = fleetRow.data?.find((s) => s.id === siteId);
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
  // Newest value on screen: the power flow shows it as live only while it is recent.
  const newestData = Math.max(
    0,
    ...Object.values(latest).flatMap((values) => values.map((v) => Date.parse(v.ts))),
  );
  const seen = row?.lastCommunication ?? null;
  const lastSeen =
    newestData && (!seen || newestData > Date.parse(seen)) ? new Date(newestData).toISOString() : seen;
  const stale = isStale(row?.health, newestData, fleetRow.now);
  return (
    <div className="owner">
      <div className="page-head">
        <h1>{site.data?.name ?? 'My home'}</h1>
        <StatusBadge
          health={row?.health}
          title={`Last communication ${relativeTime(lastSeen, fleetRow.now)}`}
        />
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
      {siteId && site.data && (
        <TodayTiles
          siteId={siteId}
          timeZone={site.data.timezone}
          refreshKey={`${Math.floor(at / 300_000)}/${site.data.grid_intensity_g_per_kwh}`}
        />
      )}
      <section className="card" aria-labelledby="live-title">
        <div className="card-head">
          <h2 id="live-title">Now</h2>
          <span className="muted" data-testid="last-communication">
            Last communication {relativeTime(lastSeen, fleetRow.now)}
          </span>
        </div>
        <PowerFlow
          readings={readings}
          staleSince={stale ? (newestData ? new Date(newestData).toISOString() : null) : undefined}
          now={fleetRow.now}
        />
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
      {siteId && <ChannelControls siteId={siteId} />}
      {siteId && (
        <p>
          <Link href={`/sites/${encodeURIComponent(siteId)}/automation`}>Schedules, scenes and rules</Link>
          {' · '}
          <Link href={`/sites/${encodeURIComponent(siteId)}/equipment`}>Equipment</Link>
        </p>
      )}
      {siteId && <AlertList siteId={siteId} canAck={false} timeZone={site.data?.timezone} />}
      {siteId && site.data && (
        <EnergyDistribution
          siteId={siteId}
          timeZone={site.data.timezone}
          refreshKey={String(site.data.grid_intensity_g_per_kwh)}
        />
      )}
      {siteId && site.data && <EnergySummary siteId={siteId} timeZone={site.data.timezone} />}
      {/* The owner connects, pauses, rotates and removes their own vendor systems (the hub lets
          every role with write access to the site do it); a viewer sees their state only. */}
      {siteId && site.data && <VendorSystems siteId={siteId} canManage={user?.role !== 'viewer'} />}
      {/* Site settings the owner keeps: the grid's CO₂ intensity behind "CO₂ avoided". */}
      {siteId && site.data && (
        <section className="card" id="site-settings" aria-labelledby="site-settings-title">
          <h2 id="site-settings-title">Site settings</h2>
          <GridIntensitySetting
            site={site.data}
            canEdit={user?.role !== 'viewer'}
            onSaved={() => site.reload()}
          />
        </section>
      )}
    </div>
  );
}
