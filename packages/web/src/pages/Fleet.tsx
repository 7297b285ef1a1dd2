// Installer fleet table: every visible site with its health, in one request (GET /fleet/sites),
// with filters, search and sorting, kept live without a reload (lib/use-live-fleet.ts).
import { useMemo, useState } from 'react';
import type { FleetHealth } from '../api/fleet.ts';
import { ErrorNote } from '../components/ErrorNote.tsx';
import { relativeTime } from '../lib/format.ts';
import { type LiveFleetSite, useLiveFleet } from '../lib/use-live-fleet.ts';
import { Link } from '../router.tsx';

type FleetState = Lowercase<FleetHealth>;

const FILTERS: { key: FleetState | 'all'; label: string }[] = [
  { key: 'all', label: 'All' },
  { key: 'alerting', label: 'Alerting' },
  { key: 'offline', label: 'Offline' },
  { key: 'commissioning', label: 'Commissioning' },
  { key: 'healthy', label: 'Healthy' },
];

type SortKey = 'name' | 'state' | 'last' | 'nodes' | 'alerts';

interface Row {
  site: LiveFleetSite;
  state: FleetState;
}

export function FleetPage() {
  const { data, error, loading, reload, now } = useLiveFleet();
  const [filter, setFilter] = useState<FleetState | 'all'>('all');
  const [query, setQuery] = useState('');
  const [sort, setSort] = useState<{ key: SortKey; desc: boolean }>({ key: 'name', desc: false });

  const rows = useMemo<Row[]>(() => {
    if (!data) return [];
    return data.map((site) => ({ site, state: site.health.toLowerCase() as FleetState }));
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
          (r.site.installerOrg?.name.toLowerCase().includes(q) ?? false) ||
          r.site.nodeList.some((n) => n.name.toLowerCase().includes(q))),
    );
    const value = (r: Row): string | number => {
      switch (sort.key) {
        case 'name':
          return r.site.name.toLowerCase();
        case 'state':
          return r.state;
        case 'last':
          return r.site.lastCommunication ?? '';
        case 'nodes':
          return r.site.nodes.total;
        case 'alerts':
          return r.site.openAlerts;
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
              {header('alerts', 'Open alerts')}
              {header('last', 'Last communication')}
              <th>Installer</th>
              <th>Timezone</th>
            </tr>
          </thead>
          <tbody>
            {visible.map((r) => (
              <tr key={r.site.id} data-site={r.site.id} data-state={r.state}>
                <td>
                  <Link href={`/sites/${r.site.id}`}>{r.site.name}</Link>
                </td>
                <td>
                  <span className={`state state-${r.state}`}>{r.site.health}</span>
                </td>
                <td
                  data-testid="node-counts"
                  title={`${r.site.nodes.online} online · ${r.site.nodes.offline} offline · ${r.site.nodes.unknown} unknown`}
                >
                  {r.site.nodes.total}
                  {r.site.nodes.offline > 0 && (
                    <span className="muted"> ({r.site.nodes.offline} offline)</span>
                  )}
                </td>
                <td data-testid="open-alerts">
                  {r.site.openAlerts > 0 ? (
                    <span className={`alert-${r.site.worstSeverity ?? 'warning'}`}>
                      {r.site.openAlerts} · {r.site.worstSeverity}
                    </span>
                  ) : (
                    <span className="muted">0</span>
                  )}
                </td>
                <td
                  title={r.site.lastCommunication ?? ''}
                  data-testid="last-communication"
                  data-at={r.site.lastCommunication ?? ''}
                >
                  {relativeTime(r.site.lastCommunication, now)}
                </td>
                <td>{r.site.installerOrg?.name ?? '–'}</td>
                <td>{r.site.timezone}</td>
              </tr>
            ))}
            {data && visible.length === 0 && (
              <tr>
                <td colSpan={7} className="muted">
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
