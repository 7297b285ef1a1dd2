// Installer fleet table: every visible site with its state, filters, search and sorting.
import { useMemo, useState } from 'react';
import { type Alert, alertsApi } from '../api/alerts.ts';
import { type SiteDetail, sitesApi } from '../api/sites.ts';
import { ErrorNote } from '../components/ErrorNote.tsx';
import { relativeTime } from '../lib/format.ts';
import { type FleetState, fleetState, lastCommunication } from '../lib/status.ts';
import { useAsync } from '../lib/use-async.ts';
import { Link } from '../router.tsx';

const FILTERS: { key: FleetState | 'all'; label: string }[] = [
  { key: 'all', label: 'All' },
  { key: 'alerting', label: 'Alerting' },
  { key: 'offline', label: 'Offline' },
  { key: 'commissioning', label: 'Commissioning' },
  { key: 'healthy', label: 'Healthy' },
];

type SortKey = 'name' | 'state' | 'last' | 'nodes';

interface Row {
  site: SiteDetail;
  state: FleetState;
  last: string | null;
  alerts: number;
}

/** Site details one by one with a small pool: the list endpoint carries no node health yet. */
async function loadDetails(signal: AbortSignal): Promise<{ details: SiteDetail[]; alerts: Alert[] }> {
  const sites = await sitesApi.list(signal);
  const details: SiteDetail[] = new Array(sites.length);
  let next = 0;
  const worker = async () => {
    while (next < sites.length) {
      const i = next++;
      details[i] = await sitesApi.get(sites[i]!.id, signal);
    }
  };
  await Promise.all(Array.from({ length: Math.min(6, sites.length) }, worker));
  const alerts = await alertsApi.list({ state: 'open' }).catch(() => []);
  return { details, alerts };
}

export function FleetPage() {
  const { data, error, loading, reload } = useAsync(loadDetails, []);
  const [filter, setFilter] = useState<FleetState | 'all'>('all');
  const [query, setQuery] = useState('');
  const [sort, setSort] = useState<{ key: SortKey; desc: boolean }>({ key: 'name', desc: false });

  const rows = useMemo<Row[]>(() => {
    if (!data) return [];
    const now = Date.now();
    return data.details.map((site) => {
      const alerts = data.alerts.filter((a) => a.siteId === site.id);
      return {
        site,
        state: fleetState(site, site.nodes, alerts, now),
        last: lastCommunication(site.nodes),
        alerts: alerts.length,
      };
    });
  }, [data]);

  const counts = useMemo(() => {
    const c: Record<string, number> = { all: rows.length };
    for (const r of rows) c[r.state] = (c[r.state] ?? 0) + 1;
    return c;
  }, [rows]);

  const visible = useMemo(() => {
    const q = query.trim().toLowerCase();
    const filtered = rows.filter(
      (r) =>
        (filter === 'all' || r.state === filter) &&
        (!q ||
          r.site.name.toLowerCase().includes(q) ||
          r.site.id.startsWith(q) ||
          r.site.nodes.some((n) => n.name.toLowerCase().includes(q))),
    );
    const value = (r: Row): string | number => {
      switch (sort.key) {
        case 'name':
          return r.site.name.toLowerCase();
        case 'state':
          return r.state;
        case 'last':
          return r.last ?? '';
        case 'nodes':
          return r.site.nodes.length;
      }
    };
    return filtered.sort((a, b) => {
      const x = value(a);
      const y = value(b);
      const cmp = x < y ? -1 : x > y ? 1 : 0;
      return sort.desc ? -cmp : cmp;
    });
  }, [rows, filter, query, sort]);

  const header = (key: SortKey, label: string) => (
    <th aria-sort={sort.key === key ? (sort.desc ? 'descending' : 'ascending') : 'none'}>
      <button
        type="button"
        className="sort"
        onClick={() => setSort((s) => ({ key, desc: s.key === key ? !s.desc : false }))}
      >
        {label}
        {sort.key === key ? (sort.desc ? ' ▼' : ' ▲') : ''}
      </button>
    </th>
  );

  return (
    <div>
      <div className="page-head">
        <h1>Fleet</h1>
        <button type="button" onClick={reload} disabled={loading}>
          Refresh
        </button>
      </div>
      <div className="toolbar">
        <fieldset className="tabs">
          <legend className="sr-only">Filter sites</legend>
          {FILTERS.map((f) => (
            <button
              key={f.key}
              type="button"
              aria-pressed={filter === f.key}
              className={filter === f.key ? 'active' : ''}
              onClick={() => setFilter(f.key)}
            >
              {f.label} ({counts[f.key] ?? 0})
            </button>
          ))}
        </fieldset>
        <input
          type="search"
          placeholder="Search sites or nodes"
          aria-label="Search sites or nodes"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
      </div>
      <ErrorNote error={error} />
      {loading && !data && <p className="muted">Loading…</p>}
      <div className="table-wrap">
        <table className="fleet" data-testid="fleet-table">
          <thead>
            <tr>
              {header('name', 'Site')}
              {header('state', 'State')}
              {header('nodes', 'Nodes')}
              {header('last', 'Last communication')}
              <th>Timezone</th>
            </tr>
          </thead>
          <tbody>
            {visible.map((r) => (
              <tr key={r.site.id} data-state={r.state}>
                <td>
                  <Link href={`/sites/${r.site.id}`}>{r.site.name}</Link>
                </td>
                <td>
                  <span className={`state state-${r.state}`}>{r.state}</span>
                  {r.alerts > 0 && <span className="muted"> · {r.alerts} alerts</span>}
                </td>
                <td>{r.site.nodes.length}</td>
                <td title={r.last ?? ''}>{relativeTime(r.last)}</td>
                <td>{r.site.timezone}</td>
              </tr>
            ))}
            {data && visible.length === 0 && (
              <tr>
                <td colSpan={5} className="muted">
                  No site matches.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </div>
  );
}
