// A site's equipment (issue 17 item 4): what each node's agent reported it reads, whether it
// answers and why not, its last reading, grouped by where an installer placed it (areas and
// lines); the installer's commissioning check; and each node's data-quality findings (17.6).
// Every role that sees the site reads this page; installers and admins also arrange areas and
// lines and place equipment on them. Others get no controls at all (the hub would refuse them
// anyway: a viewer's change is a 403, which this page never provokes).
import { type FormEvent, useState } from 'react';
import {
  type Area,
  type Commissioning,
  type EquipmentItem,
  registryApi,
  type SiteEquipment,
} from '../api/equipment-registry.ts';
import { sitesApi } from '../api/sites.ts';
import { DataQuality } from '../components/DataQuality.tsx';
import { ErrorNote } from '../components/ErrorNote.tsx';
import { ScrollTable } from '../components/ScrollTable.tsx';
import {
  type EquipmentGroup,
  equipmentName,
  groupEquipment,
  STATE_WORDS,
  shortMetricName,
  sourceWords,
  stateClass,
} from '../lib/equipment.ts';
import { dateTime, metricName, metricValue, relativeTime } from '../lib/format.ts';
import { useAsync } from '../lib/use-async.ts';
import { Link } from '../router.tsx';
import { useSession } from '../session.tsx';

/** Who arranges the site's equipment: the people who install and run it, not those who live with it. */
function canArrange(role: string | undefined): boolean {
  return role === 'admin' || role === 'org_admin' || role === 'installer';
}

function LastReading({ e, timeZone }: { e: EquipmentItem; timeZone: string }) {
  const r = e.lastReading;
  if (!r) return <span className="muted">none yet</span>;
  return (
    <span className="last-reading">
      {r.values.map((v) => (
        <span key={v.metric} className="reading" data-metric={v.metric}>
          <span title={`${metricName(v.metric)} (${v.metric})`}>{shortMetricName(v.metric)}</span>:{' '}
          <strong>{metricValue(v.metric, v.value)}</strong>
        </span>
      ))}
      <span className="muted" title={dateTime(r.ts, timeZone)} data-testid="reading-age">
        {relativeTime(r.ts)}
      </span>
    </span>
  );
}

/** Placement as one select value: "" unassigned, "a:<id>" an area, "l:<id>" a line. */
function placementValue(e: EquipmentItem): string {
  if (e.lineId) return `l:${e.lineId}`;
  if (e.areaId) return `a:${e.areaId}`;
  return '';
}

function PlaceForm({ e, areas, onPlaced }: { e: EquipmentItem; areas: Area[]; onPlaced: () => void }) {
  const [value, setValue] = useState(placementValue(e));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const name = equipmentName(e);
  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const body = value.startsWith('l:')
        ? { lineId: value.slice(2) }
        : value.startsWith('a:')
          ? { areaId: value.slice(2), lineId: null }
          : { areaId: null, lineId: null };
      await registryApi.place(e.id, body);
      onPlaced();
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="place-form" onSubmit={submit}>
      <select
        className="fit"
        aria-label={`Place ${name}`}
        value={value}
        onChange={(ev) => setValue(ev.target.value)}
      >
        <option value="">Unassigned</option>
        {areas.map((a) => [
          <option key={a.id} value={`a:${a.id}`}>
            {a.name}
          </option>,
          ...a.lines.map((l) => (
            <option key={l.id} value={`l:${l.id}`}>
              {a.name} › {l.name}
            </option>
          )),
        ])}
      </select>
      <button type="submit" disabled={busy || value === placementValue(e)} aria-label={`Move ${name}`}>
        Move
      </button>
      <ErrorNote error={error} />
    </form>
  );
}

function GroupTable({
  group,
  areas,
  canEdit,
  timeZone,
  onChanged,
}: {
  group: EquipmentGroup;
  areas: Area[];
  canEdit: boolean;
  timeZone: string;
  onChanged: () => void;
}) {
  const headingId = `group-${group.key.replace(/[^A-Za-z0-9_-]/g, '-')}`;
  return (
    <section
      className="equipment-group"
      aria-labelledby={headingId}
      data-testid="equipment-group"
      data-group={group.title}
    >
      <h3 id={headingId}>
        {group.title} <span className="muted">({group.items.length})</span>
      </h3>
      {group.items.length === 0 ? (
        <p className="muted">Nothing placed here yet.</p>
      ) : (
        <ScrollTable label={`Equipment: ${group.title}`}>
          <table>
            <thead>
              <tr>
                <th scope="col">Equipment</th>
                <th scope="col">Kind</th>
                <th scope="col">Vendor / model</th>
                <th scope="col">Serial</th>
                <th scope="col">Firmware</th>
                <th scope="col">Source</th>
                <th scope="col">State</th>
                <th scope="col">Last reading</th>
                {canEdit && <th scope="col">Place</th>}
              </tr>
            </thead>
            <tbody>
              {group.items.map((e) => (
                <tr key={e.id} data-testid="equipment-row" data-equipment={e.key} data-state={e.state}>
                  <th scope="row">
                    <span>
                      <strong>{equipmentName(e)}</strong>
                      <span className="muted">
                        {e.label ? ` (${e.key})` : ''} on {e.nodeName}
                      </span>
                    </span>
                  </th>
                  <td>{e.kind}</td>
                  <td>
                    {[e.vendor, e.model].filter(Boolean).join(' ') || (
                      <span className="muted">not reported</span>
                    )}
                  </td>
                  <td>{e.serial ?? <span className="muted">not reported</span>}</td>
                  <td>{e.firmware ?? <span className="muted">not reported</span>}</td>
                  <td>{sourceWords(e.source)}</td>
                  <td>
                    {/* The word is the signal (its colour only repeats it), the hub's reason beneath. */}
                    <span className="state-cell">
                      <span className={stateClass(e.state)} data-testid="equipment-state">
                        {STATE_WORDS[e.state]}
                      </span>
                      <span className="reason" data-testid="equipment-reason">
                        {e.reason}
                      </span>
                    </span>
                  </td>
                  <td>
                    <LastReading e={e} timeZone={timeZone} />
                  </td>
                  {canEdit && (
                    <td>
                      <PlaceForm key={placementValue(e)} e={e} areas={areas} onPlaced={onChanged} />
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollTable>
      )}
    </section>
  );
}

function NameForm({
  label,
  button,
  onSubmit,
}: {
  label: string;
  button: string;
  onSubmit: (name: string) => Promise<unknown>;
}) {
  const [name, setName] = useState('');
  const [error, setError] = useState<Error>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      await onSubmit(name.trim());
      setName('');
    } catch (err) {
      setError(err as Error);
    }
  };
  return (
    <form className="name-form" onSubmit={submit}>
      <label>
        {label}{' '}
        <input
          className="fit"
          value={name}
          onChange={(e) => setName(e.target.value)}
          maxLength={100}
          required
        />
      </label>
      <button type="submit">{button}</button>
      <ErrorNote error={error} />
    </form>
  );
}

/** Areas and lines of the site: created by name (the hub derives the slug), removed in one click. */
function Hierarchy({ siteId, areas, onChanged }: { siteId: string; areas: Area[]; onChanged: () => void }) {
  const [error, setError] = useState<Error>();
  const remove = async (what: () => Promise<void>) => {
    setError(undefined);
    try {
      await what();
      onChanged();
    } catch (err) {
      setError(err as Error);
    }
  };
  return (
    <section className="card" aria-labelledby="areas-title" data-testid="hierarchy">
      <h2 id="areas-title">Areas and lines</h2>
      <p className="muted">
        Group the site's equipment by where it is (a hall, a roof, a plant room) and, within an area, by line.
        Removing an area or line leaves its equipment unassigned; nothing is deleted.
      </p>
      <NameForm
        label="New area"
        button="Add area"
        onSubmit={async (name) => {
          await registryApi.createArea(siteId, name);
          onChanged();
        }}
      />
      <ErrorNote error={error} />
      <ul className="areas">
        {areas.map((a) => (
          <li key={a.id} data-testid="area" data-area={a.name}>
            <strong>{a.name}</strong>{' '}
            <button type="button" onClick={() => void remove(() => registryApi.removeArea(a.id))}>
              Remove area {a.name}
            </button>
            {a.lines.length > 0 && (
              <ul>
                {a.lines.map((l) => (
                  <li key={l.id} data-testid="line" data-line={l.name}>
                    {l.name}{' '}
                    <button type="button" onClick={() => void remove(() => registryApi.removeLine(l.id))}>
                      Remove line {l.name}
                    </button>
                  </li>
                ))}
              </ul>
            )}
            <NameForm
              label={`New line in ${a.name}`}
              button={`Add line to ${a.name}`}
              onSubmit={async (name) => {
                await registryApi.createLine(a.id, name);
                onChanged();
              }}
            />
          </li>
        ))}
      </ul>
    </section>
  );
}

function CommissioningCheck({
  c,
  equipment,
  error,
  onRefresh,
  loading,
  timeZone,
}: {
  c: Commissioning | undefined;
  equipment: EquipmentItem[];
  error: Error | undefined;
  onRefresh: () => void;
  loading: boolean;
  timeZone: string;
}) {
  const byId = new Map(equipment.map((e) => [e.id, e]));
  return (
    <section
      className="card"
      id="commissioning"
      aria-labelledby="commissioning-title"
      data-testid="commissioning"
    >
      <div className="card-head">
        <h2 id="commissioning-title">Commissioning check</h2>
        <button type="button" onClick={onRefresh} disabled={loading}>
          {loading ? 'Checking…' : 'Check again'}
        </button>
      </div>
      <p className="muted">Does every piece of equipment the nodes are configured for answer?</p>
      <ErrorNote error={error} />
      {c && (
        <>
          <p data-testid="commissioning-verdict" data-ok={String(c.ok)} className="verdict">
            {c.ok ? (
              <span className="state state-healthy">Ready</span>
            ) : (
              <span className="state state-failed">Not ready</span>
            )}{' '}
            {c.expected === 0
              ? 'No equipment is expected yet: no node has reported what it reads.'
              : `${c.answering} of ${c.expected} expected equipment answer${c.answering === 1 ? 's' : ''}.`}{' '}
            <span className="muted" title={dateTime(c.checkedAt, timeZone)}>
              Checked {relativeTime(c.checkedAt)}.
            </span>
          </p>
          {(c.problems.length > 0 || c.nodesWithoutInventory.length > 0) && (
            <ul className="commissioning-problems">
              {c.problems.map((p) => {
                const e = byId.get(p.equipmentId);
                return (
                  <li
                    key={p.equipmentId}
                    data-testid="commissioning-problem"
                    data-equipment={p.key}
                    data-state={p.state}
                  >
                    <strong>{e ? equipmentName(e) : p.key}</strong>{' '}
                    <span className="muted">
                      ({p.key} on {p.nodeName})
                    </span>
                    : <span className={stateClass(p.state)}>{STATE_WORDS[p.state]}</span> — {p.reason}
                  </li>
                );
              })}
              {c.nodesWithoutInventory.map((n) => (
                <li key={n.nodeId} data-testid="commissioning-node" data-node={n.nodeId}>
                  <strong>{n.nodeName}</strong>: <span className="state state-pending">no inventory</span> —
                  the node has not reported its equipment yet (its agent has not started, or is too old to
                  send an inventory).
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}

export function EquipmentPage({ siteId }: { siteId: string }) {
  const { user } = useSession();
  const canEdit = canArrange(user?.role);
  const site = useAsync((signal) => sitesApi.get(siteId, signal), [siteId]);
  const [tick, setTick] = useState(0);
  const registry = useAsync<SiteEquipment>((signal) => registryApi.list(siteId, signal), [siteId, tick]);
  const commissioning = useAsync<Commissioning | undefined>(
    (signal) => (canEdit ? registryApi.commissioning(siteId, signal) : Promise.resolve(undefined)),
    [siteId, canEdit, tick],
  );
  const refresh = () => setTick((t) => t + 1);
  const error = site.error ?? registry.error;
  if (error)
    return (
      <div>
        <h1 tabIndex={-1}>Equipment</h1>
        <ErrorNote error={error} />
      </div>
    );
  if (!site.data || !registry.data) return <p className="muted">Loading…</p>;
  const timeZone = site.data.timezone;
  const { equipment, areas } = registry.data;
  const groups = groupEquipment(equipment, areas);
  return (
    <div className="equipment-page">
      <div className="page-head">
        <h1 tabIndex={-1}>Equipment of {site.data.name}</h1>
        <button type="button" onClick={refresh} disabled={registry.loading}>
          Refresh
        </button>
      </div>
      <p className="muted crumbs">
        <Link href={`/sites/${encodeURIComponent(siteId)}`}>{site.data.name}</Link> › Equipment
        {!canEdit && ' · read only'}
      </p>
      {canEdit && (
        <CommissioningCheck
          c={commissioning.data}
          equipment={equipment}
          error={commissioning.error}
          loading={commissioning.loading}
          onRefresh={commissioning.reload}
          timeZone={timeZone}
        />
      )}
      <section className="card" aria-labelledby="equipment-title" data-testid="equipment">
        <h2 id="equipment-title">Equipment</h2>
        {equipment.length === 0 ? (
          <p data-testid="equipment-empty">
            No equipment reported yet: the agent sends its inventory when it starts. Once a node's agent is
            running, what it reads appears here.
          </p>
        ) : (
          groups
            // An area or line without equipment still shows (the installer just made it), but an empty
            // "Unassigned" says nothing.
            .filter((g) => g.key !== 'unassigned' || g.items.length > 0)
            .map((g) => (
              <GroupTable
                key={g.key}
                group={g}
                areas={areas}
                canEdit={canEdit}
                timeZone={timeZone}
                onChanged={refresh}
              />
            ))
        )}
      </section>
      {canEdit && <Hierarchy siteId={siteId} areas={areas} onChanged={refresh} />}
      <section className="card" aria-labelledby="dq-title">
        <h2 id="dq-title">Data quality</h2>
        <p className="muted">
          Readings checked against the data contract of the equipment they come from (plausible ranges, whole
          numbers, required metrics).
        </p>
        {site.data.nodes.length === 0 && <p className="muted">No node enrolled yet.</p>}
        {site.data.nodes.map((n) => (
          <DataQuality
            key={n.id}
            nodeId={n.id}
            nodeName={n.name}
            title={`Node ${n.name}`}
            timeZone={timeZone}
            refreshKey={tick}
          />
        ))}
      </section>
    </div>
  );
}
