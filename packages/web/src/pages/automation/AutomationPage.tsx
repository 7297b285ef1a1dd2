// A site's automation: the pause switch, and its schedules (with their next run on the site's
// clock), scenes and rules, each enabled or disabled in place. Who may change them is the hub's
// answer; everybody else (viewers, owners whose org does not allow control) sees the same lists
// without any edit control.
import { useState } from 'react';
import {
  type Rule,
  rulesApi,
  type Schedule,
  scenesApi,
  schedulesApi,
  siteAutomationApi,
} from '../../api/automation.ts';
import {
  AutomationCrumbs,
  ReadOnlyNote,
  type SiteFacts,
  useSiteFacts,
} from '../../components/automation/common.tsx';
import { ErrorNote } from '../../components/ErrorNote.tsx';
import { actionText, channelLabel, executorText, siteDateTime, triggerText } from '../../lib/automation.ts';
import { useAsync } from '../../lib/use-async.ts';
import { Link } from '../../router.tsx';

function PauseCard({ siteId, canEdit }: { siteId: string; canEdit: boolean }) {
  const state = useAsync(() => siteAutomationApi.get(siteId), [siteId]);
  const [error, setError] = useState<Error>();
  const flip = async () => {
    if (!state.data) return;
    setError(undefined);
    try {
      await siteAutomationApi.set(siteId, !state.data.paused);
      state.reload();
    } catch (err) {
      setError(err as Error);
    }
  };
  if (!state.data) return <ErrorNote error={state.error} />;
  const { paused } = state.data;
  return (
    <section className="card" aria-labelledby="pause-title">
      <div className="card-head">
        <h2 id="pause-title">Automation {paused ? 'paused' : 'active'}</h2>
        {canEdit && (
          <button type="button" onClick={() => void flip()}>
            {paused ? 'Resume automation' : 'Pause automation'}
          </button>
        )}
      </div>
      <p className="muted" data-testid="pause-state">
        {paused
          ? `Schedules, scenes and rules switch nothing on this site${state.data.changedBy ? ` (paused by ${state.data.changedBy})` : ''}. Manual switches still work.`
          : 'Schedules, scenes and rules run on this site.'}
      </p>
      <ErrorNote error={error} />
    </section>
  );
}

function EnabledCell({
  enabled,
  canEdit,
  name,
  onChange,
}: {
  enabled: boolean;
  canEdit: boolean;
  name: string;
  onChange: (enabled: boolean) => Promise<void>;
}) {
  const [busy, setBusy] = useState(false);
  if (!canEdit) return <span data-testid="enabled-state">{enabled ? 'enabled' : 'disabled'}</span>;
  return (
    <button
      type="button"
      role="switch"
      aria-checked={enabled}
      aria-label={`Enable ${name}`}
      disabled={busy}
      onClick={async () => {
        setBusy(true);
        try {
          await onChange(!enabled);
        } finally {
          setBusy(false);
        }
      }}
    >
      {enabled ? 'Enabled' : 'Disabled'}
    </button>
  );
}

function SchedulesCard({ facts }: { facts: SiteFacts }) {
  const { site, channels, canEdit } = facts;
  const list = useAsync((signal) => schedulesApi.list(site.id, signal), [site.id]);
  const [error, setError] = useState<Error>();
  const setEnabled = async (s: Schedule, enabled: boolean) => {
    setError(undefined);
    try {
      await schedulesApi.patch(s.id, { enabled });
      list.reload();
    } catch (err) {
      setError(err as Error);
    }
  };
  const items = list.data?.items ?? [];
  return (
    <section className="card" aria-labelledby="schedules-title" data-testid="schedules">
      <div className="card-head">
        <h2 id="schedules-title">Schedules</h2>
        {canEdit && (
          <Link href={`/sites/${site.id}/automation/schedules/new`} className="button-link">
            New schedule
          </Link>
        )}
      </div>
      <ErrorNote error={list.error ?? error} />
      {list.data && items.length === 0 && <p className="muted">No schedule yet.</p>}
      {items.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Channel</th>
                <th scope="col">When</th>
                <th scope="col">Next run (site time)</th>
                <th scope="col">Priority</th>
                <th scope="col">Runs on</th>
                <th scope="col">Enabled</th>
              </tr>
            </thead>
            <tbody>
              {items.map((s) => (
                <tr key={s.id} data-schedule={s.name}>
                  <td>
                    <Link href={`/sites/${site.id}/automation/schedules/${s.id}`}>{s.name}</Link>
                  </td>
                  <td>{channelLabel(s.channelId, channels)}</td>
                  <td>{s.summary}</td>
                  <td data-testid="next-run">
                    {s.next[0]
                      ? `${siteDateTime(s.next[0].dueAt, site.timezone)} → ${s.next[0].state}`
                      : s.enabled
                        ? 'none within 14 days'
                        : '–'}
                  </td>
                  <td>{s.priority}</td>
                  <td data-testid="executor">{executorText(s.executorNodeId, channels)}</td>
                  <td>
                    <EnabledCell
                      enabled={s.enabled}
                      canEdit={canEdit}
                      name={s.name}
                      onChange={(on) => setEnabled(s, on)}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function ScenesCard({ facts }: { facts: SiteFacts }) {
  const { site, channels, canEdit } = facts;
  const list = useAsync((signal) => scenesApi.list(site.id, signal), [site.id]);
  const items = list.data?.items ?? [];
  return (
    <section className="card" aria-labelledby="scenes-title" data-testid="scenes">
      <div className="card-head">
        <h2 id="scenes-title">Scenes</h2>
        {canEdit && (
          <Link href={`/sites/${site.id}/automation/scenes/new`} className="button-link">
            New scene
          </Link>
        )}
      </div>
      <ErrorNote error={list.error} />
      {list.data && items.length === 0 && <p className="muted">No scene yet.</p>}
      {items.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Sets</th>
                <th scope="col">Version</th>
              </tr>
            </thead>
            <tbody>
              {items.map((s) => (
                <tr key={s.id} data-scene={s.name}>
                  <td>
                    <Link href={`/sites/${site.id}/automation/scenes/${s.id}`}>{s.name}</Link>
                  </td>
                  <td>
                    {s.targets.map((t) => `${channelLabel(t.channelId, channels)} ${t.state}`).join(', ')}
                  </td>
                  <td>v{s.version}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function RulesCard({ facts }: { facts: SiteFacts }) {
  const { site, channels, scenes, canEdit } = facts;
  const list = useAsync((signal) => rulesApi.list(site.id, signal), [site.id]);
  const [error, setError] = useState<Error>();
  const setEnabled = async (r: Rule, enabled: boolean) => {
    setError(undefined);
    try {
      await rulesApi.update(r.id, {
        name: r.name,
        ...(r.description ? { description: r.description } : {}),
        enabled,
        trigger: r.trigger,
        conditions: r.conditions,
        actions: r.actions,
      });
      list.reload();
    } catch (err) {
      setError(err as Error);
    }
  };
  const items = list.data?.items ?? [];
  return (
    <section className="card" aria-labelledby="rules-title" data-testid="rules">
      <div className="card-head">
        <h2 id="rules-title">Rules</h2>
        {canEdit && (
          <Link href={`/sites/${site.id}/automation/rules/new`} className="button-link">
            New rule
          </Link>
        )}
      </div>
      <ErrorNote error={list.error ?? error} />
      {list.data && items.length === 0 && <p className="muted">No rule yet.</p>}
      {items.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">When</th>
                <th scope="col">Then</th>
                <th scope="col">Enabled</th>
              </tr>
            </thead>
            <tbody>
              {items.map((r) => (
                <tr key={r.id} data-rule={r.name}>
                  <td>
                    <Link href={`/sites/${site.id}/automation/rules/${r.id}`}>{r.name}</Link>
                    {r.suspendedAt && (
                      <span className="state state-failed" title={r.suspendedReason ?? ''}>
                        suspended
                      </span>
                    )}
                  </td>
                  <td>{triggerText(r.trigger)}</td>
                  <td>{r.actions.map((a) => actionText(a, channels, scenes)).join('; ')}</td>
                  <td>
                    <EnabledCell
                      enabled={r.enabled}
                      canEdit={canEdit}
                      name={r.name}
                      onChange={(on) => setEnabled(r, on)}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export function AutomationPage({ siteId }: { siteId: string }) {
  const facts = useSiteFacts(siteId);
  if (facts.error)
    return (
      <div>
        <h1 tabIndex={-1}>Automation</h1>
        <ErrorNote error={facts.error} />
      </div>
    );
  if (!facts.data) return <p className="muted">Loading…</p>;
  return (
    <div className="automation">
      <h1 tabIndex={-1}>Automation</h1>
      <AutomationCrumbs site={facts.data.site} />
      {!facts.data.canEdit && <ReadOnlyNote reason={facts.data.reason} />}
      <PauseCard siteId={siteId} canEdit={facts.data.canEdit} />
      <SchedulesCard facts={facts.data} />
      <ScenesCard facts={facts.data} />
      <RulesCard facts={facts.data} />
    </div>
  );
}
