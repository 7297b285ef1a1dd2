// Installer triage inbox: the alerts of every visible site in one list, filtered by severity,
// state and site (on the hub) and by a search over the text (here), acknowledged, resolved or
// muted from their row. The filters live in the URL query so a filtered inbox can be bookmarked,
// shared and reloaded. Each row says since when: relative, and absolute on the site's clock.
import { useEffect, useMemo, useState } from 'react';
import { type Alert, type AlertFilter, alertsApi } from '../api/alerts.ts';
import { type Site, sitesApi } from '../api/sites.ts';
import { ErrorNote } from '../components/ErrorNote.tsx';
import { dateTime, relativeTime } from '../lib/format.ts';
import { zoneLabel } from '../lib/site-time.ts';
import { ALERT_STATE_LABEL, type AlertSeverity, SEVERITY_LABEL } from '../lib/status.ts';
import { useAsync } from '../lib/use-async.ts';
import { realtime } from '../realtime/client.ts';
import { Link } from '../router.tsx';

type StateFilter = NonNullable<AlertFilter['state']>;

interface Filters {
  state: StateFilter | '';
  severity: AlertSeverity | '';
  site: string;
  q: string;
}

const STATES: StateFilter[] = ['active', 'open', 'acknowledged', 'resolved'];
const SEVERITIES: AlertSeverity[] = ['critical', 'warning', 'info'];
const MUTE_HOURS = [1, 24, 24 * 7];

/** The filters as the URL query holds them; unknown values fall back to the default. */
function readFilters(search: string): Filters {
  const p = new URLSearchParams(search);
  const state = p.get('state') ?? 'active';
  const severity = p.get('severity') ?? '';
  return {
    state: (STATES as string[]).includes(state) ? (state as StateFilter) : state === 'all' ? '' : 'active',
    severity: (SEVERITIES as string[]).includes(severity) ? (severity as AlertSeverity) : '',
    site: p.get('site') ?? '',
    q: p.get('q') ?? '',
  };
}

function writeFilters(f: Filters): void {
  const p = new URLSearchParams();
  // "active" is the default, so a bare /alerts means it; "all" is spelled out.
  if (f.state !== 'active') p.set('state', f.state || 'all');
  if (f.severity) p.set('severity', f.severity);
  if (f.site) p.set('site', f.site);
  if (f.q) p.set('q', f.q);
  const qs = p.toString();
  history.replaceState(null, '', `${location.pathname}${qs ? `?${qs}` : ''}`);
}

const stateName = (s: StateFilter) => (s === 'active' ? 'Open or acknowledged' : ALERT_STATE_LABEL[s]);

export function AlertsPage() {
  const [filters, setFilters] = useState<Filters>(() => readFilters(location.search));
  const [muteHours, setMuteHours] = useState(24);
  const [error, setError] = useState<Error>();
  const [note, setNote] = useState('');
  const sites = useAsync((signal) => sitesApi.list(signal), []);
  const alerts = useAsync(
    () =>
      alertsApi.list({
        state: filters.state || undefined,
        severity: filters.severity || undefined,
        siteId: filters.site || undefined,
        limit: 500,
      }),
    [filters.state, filters.severity, filters.site],
  );
  const { reload } = alerts;
  useEffect(() => writeFilters(filters), [filters]);
  // The fleet's alert events reach this page without a subscription per site (the hub sends
  // alert.updated to everyone allowed to see the site).
  useEffect(() => realtime.onEvent('alert.updated', () => reload()), [reload]);

  const siteById = useMemo(() => new Map((sites.data ?? []).map((s) => [s.id, s])), [sites.data]);
  const visible = useMemo(() => {
    const q = filters.q.trim().toLowerCase();
    const list = alerts.data ?? [];
    if (!q) return list;
    return list.filter((a) =>
      [a.message, a.rule, a.siteId ? siteById.get(a.siteId)?.name : ''].some((t) =>
        (t ?? '').toLowerCase().includes(q),
      ),
    );
  }, [alerts.data, filters.q, siteById]);

  const act = async (what: string, run: () => Promise<unknown>) => {
    setError(undefined);
    setNote('');
    try {
      await run();
      setNote(what);
    } catch (err) {
      setError(err as Error);
    }
    reload();
  };
  const set = (patch: Partial<Filters>) => setFilters((f) => ({ ...f, ...patch }));
  const now = Date.now();

  return (
    <div>
      <h1 tabIndex={-1}>Alerts</h1>
      <form className="card toolbar" aria-label="Alert filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          State{' '}
          <select value={filters.state} onChange={(e) => set({ state: e.target.value as Filters['state'] })}>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {stateName(s)}
              </option>
            ))}
            <option value="">Any state</option>
          </select>
        </label>
        <label>
          Severity{' '}
          <select
            value={filters.severity}
            onChange={(e) => set({ severity: e.target.value as Filters['severity'] })}
          >
            <option value="">Any severity</option>
            {SEVERITIES.map((s) => (
              <option key={s} value={s}>
                {SEVERITY_LABEL[s]}
              </option>
            ))}
          </select>
        </label>
        <label>
          Site{' '}
          <select value={filters.site} onChange={(e) => set({ site: e.target.value })}>
            <option value="">Every site</option>
            {(sites.data ?? []).map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Search <input type="search" value={filters.q} onChange={(e) => set({ q: e.target.value })} />
        </label>
        <label>
          Mute for{' '}
          <select value={muteHours} onChange={(e) => setMuteHours(Number(e.target.value))}>
            {MUTE_HOURS.map((h) => (
              <option key={h} value={h}>
                {h < 24 ? `${h} h` : `${h / 24} d`}
              </option>
            ))}
          </select>
        </label>
      </form>
      <ErrorNote error={error ?? alerts.error ?? sites.error} />
      {note && (
        <p role="status" data-testid="alert-note">
          {note}
        </p>
      )}
      <div className="table-wrap card">
        <table data-testid="alert-inbox">
          <thead>
            <tr>
              <th>Severity</th>
              <th>Alert</th>
              <th>Site</th>
              <th>Since</th>
              <th>State</th>
              <th>Actions</th>
            </tr>
          </thead>
          <tbody>
            {visible.map((a) => (
              <AlertRow
                key={a.id}
                alert={a}
                site={a.siteId ? siteById.get(a.siteId) : undefined}
                now={now}
                muteHours={muteHours}
                act={act}
              />
            ))}
            {visible.length === 0 && !alerts.loading && (
              <tr>
                <td colSpan={6} className="muted">
                  No alerts match these filters.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function AlertRow({
  alert: a,
  site,
  now,
  muteHours,
  act,
}: {
  alert: Alert;
  site: Site | undefined;
  now: number;
  muteHours: number;
  act: (what: string, run: () => Promise<unknown>) => Promise<void>;
}) {
  const text = a.message || a.rule;
  const opened = a.openedAt ? Date.parse(a.openedAt) : now;
  return (
    <tr data-id={a.id} data-state={a.state} data-severity={a.severity} data-rule={a.rule}>
      <td className={`alert-${a.severity}`}>{SEVERITY_LABEL[a.severity]}</td>
      <td>{text}</td>
      <td>{site ? <Link href={`/sites/${site.id}`}>{site.name}</Link> : '–'}</td>
      <td>
        {/* One block, so a phone's card keeps the column name beside it, not squeezed. */}
        <div>
          <span data-testid="alert-since">{relativeTime(a.openedAt, now)}</span>
          <br />
          <span
            className="muted"
            data-testid="alert-opened"
            title={site ? zoneLabel(site.timezone, opened) : ''}
          >
            {dateTime(a.openedAt, site?.timezone)}
            {site ? ` (${site.timezone})` : ''}
          </span>
        </div>
      </td>
      <td>{ALERT_STATE_LABEL[a.state]}</td>
      <td>
        <div className="row-actions">
          {a.state === 'open' && (
            <button
              type="button"
              aria-label={`Acknowledge ${text}`}
              onClick={() => void act(`Acknowledged: ${text}`, () => alertsApi.ack(a.id))}
            >
              Acknowledge
            </button>
          )}
          {a.state !== 'resolved' && (
            <button
              type="button"
              aria-label={`Resolve ${text}`}
              onClick={() => void act(`Resolved: ${text}`, () => alertsApi.resolve(a.id))}
            >
              Resolve
            </button>
          )}
          {a.siteId && (
            <button
              type="button"
              aria-label={`Mute ${a.rule} on ${site?.name ?? 'this site'}`}
              onClick={() => {
                const until = new Date(Date.now() + muteHours * 3_600_000).toISOString();
                void act(
                  `Muted ${a.rule} on ${site?.name ?? 'the site'} until ${dateTime(until, site?.timezone)}`,
                  () => alertsApi.mute(a.siteId!, a.rule, until),
                );
              }}
            >
              Mute
            </button>
          )}
        </div>
      </td>
    </tr>
  );
}
