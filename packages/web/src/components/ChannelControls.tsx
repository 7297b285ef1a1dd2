// Manual control of a site's switchable channels. Each toggle shows the state the device
// confirmed (read back by the agent), with the switch in progress or its failure beside it; the
// list follows 'equipment.updated' events live. Several channels can be switched at once after a
// confirmation. Who may switch is the hub's answer (control.canSwitch): viewers, and owners whose
// org does not allow it, see the state only. Every channel shows its safety limits; installers and
// administrators who may switch it also edit them (owners may not: the hub says so too).
import { useCallback, useEffect, useState } from 'react';
import { type Channel, type ChannelList, equipmentApi, type OnOff } from '../api/equipment.ts';
import { realtime } from '../realtime/client.ts';
import { useSession } from '../session.tsx';
import { ChannelLimitsForm, limitsText } from './ChannelLimitsForm.tsx';
import { ErrorNote } from './ErrorNote.tsx';

const nameOf = (c: Channel) => c.label ?? (c.channel ? `${c.equipment} ${c.channel}` : c.equipment);

function statusText(c: Channel): string {
  if (c.status === 'pending') return `Switching ${c.desiredState}…`;
  if (c.status === 'failed') return `Failed: ${c.failureReason ?? 'unknown reason'}`;
  if (c.status === 'confirmed') return `Confirmed ${c.reportedState}`;
  return c.reportedState ? `Reported ${c.reportedState}` : 'State unknown';
}

const statusClass = (c: Channel) =>
  c.status === 'confirmed'
    ? 'badge badge-ok'
    : c.status === 'failed'
      ? 'state state-failed'
      : 'state state-pending';

export function ChannelControls({ siteId }: { siteId: string }) {
  const [list, setList] = useState<ChannelList>();
  const [error, setError] = useState<Error>();
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [confirming, setConfirming] = useState<OnOff>();
  const [note, setNote] = useState('');
  const [editingLimits, setEditingLimits] = useState<string>();
  const { user } = useSession();

  const load = useCallback(async () => {
    try {
      setList(await equipmentApi.list(siteId));
    } catch (err) {
      setError(err as Error);
    }
  }, [siteId]);

  useEffect(() => {
    void load();
    const unsubscribe = realtime.subscribe({ siteId });
    const off = realtime.onEvent('equipment.updated', (data) => {
      if (data.siteId !== siteId) return;
      if (!data.channelId) {
        void load();
        return;
      }
      setList((prev) => {
        if (!prev?.items.some((c) => c.id === data.channelId)) {
          void load();
          return prev;
        }
        return {
          ...prev,
          items: prev.items.map((c) =>
            c.id === data.channelId
              ? {
                  ...c,
                  status: (data.status as Channel['status']) ?? c.status,
                  desiredState: (data.desiredState as OnOff | null) ?? c.desiredState,
                  reportedState: (data.reportedState as OnOff | null) ?? c.reportedState,
                  failureReason: data.failureReason ?? null,
                }
              : c,
          ),
        };
      });
    });
    return () => {
      unsubscribe();
      off();
    };
  }, [siteId, load]);

  if (!list) return error ? <ErrorNote error={error} /> : null;
  if (list.items.length === 0) return null;
  const { canSwitch, reason } = list.control;
  const mayEditLimits = canSwitch && !!user && user.role !== 'owner' && user.role !== 'viewer';
  const limitsOf = list.items.find((c) => c.id === editingLimits);
  const replace = (c: Channel) =>
    setList((prev) => prev && { ...prev, items: prev.items.map((x) => (x.id === c.id ? c : x)) });

  const toggle = async (c: Channel) => {
    setError(undefined);
    try {
      replace(await equipmentApi.switch(c.id, c.reportedState === 'on' ? 'off' : 'on'));
    } catch (err) {
      setError(err as Error);
    }
  };
  const bulk = async (state: OnOff) => {
    setConfirming(undefined);
    setError(undefined);
    try {
      const answer = await equipmentApi.switchMany(siteId, [...selected], state);
      for (const r of answer.results) if (r.channel) replace(r.channel);
      const failed = answer.results.filter((r) => !r.ok);
      setNote(
        failed.length
          ? `${answer.results.length - failed.length} sent, ${failed.length} refused: ${failed.map((f) => f.error?.message).join('; ')}`
          : `${answer.results.length} channels sent`,
      );
      setSelected(new Set());
    } catch (err) {
      setError(err as Error);
    }
  };
  const pick = (id: string, on: boolean) =>
    setSelected((prev) => {
      const next = new Set(prev);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });

  return (
    <section className="card channels" aria-labelledby="channels-title">
      <h2 id="channels-title">Switchable equipment</h2>
      {!canSwitch && reason && (
        <p className="muted" data-testid="control-note">
          {reason}
        </p>
      )}
      <ErrorNote error={error} />
      <table>
        <thead>
          <tr>
            {canSwitch && <th scope="col">Select</th>}
            <th scope="col">Channel</th>
            <th scope="col">Node</th>
            <th scope="col">State</th>
            <th scope="col">Switch</th>
            <th scope="col">Safety limits</th>
          </tr>
        </thead>
        <tbody>
          {list.items.map((c) => (
            <tr key={c.id} data-channel={`${c.equipment}/${c.channel}`}>
              {canSwitch && (
                <td>
                  <input
                    type="checkbox"
                    aria-label={`Select ${nameOf(c)}`}
                    checked={selected.has(c.id)}
                    onChange={(e) => pick(c.id, e.target.checked)}
                  />
                </td>
              )}
              <td>{nameOf(c)}</td>
              <td>{c.nodeName}</td>
              <td>
                <span className={statusClass(c)} data-testid="channel-status" data-status={c.status}>
                  {statusText(c)}
                </span>
              </td>
              <td>
                {canSwitch ? (
                  <button
                    type="button"
                    role="switch"
                    aria-checked={c.reportedState === 'on'}
                    aria-label={`Switch ${nameOf(c)}`}
                    disabled={c.status === 'pending' || !c.present || !c.capabilities.switch}
                    onClick={() => void toggle(c)}
                  >
                    {c.reportedState === 'on' ? 'On' : 'Off'}
                  </button>
                ) : (
                  <span data-testid="channel-state">{c.reportedState ?? '–'}</span>
                )}
              </td>
              <td>
                <span data-testid="channel-limits">{limitsText(c.limits)}</span>
                {mayEditLimits && (
                  <button
                    type="button"
                    className="link-button"
                    aria-label={`Edit limits of ${nameOf(c)}`}
                    onClick={() => setEditingLimits(c.id)}
                  >
                    Edit
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {canSwitch && (
        <div className="actions">
          <button type="button" disabled={selected.size === 0} onClick={() => setConfirming('on')}>
            Switch selected on
          </button>
          <button type="button" disabled={selected.size === 0} onClick={() => setConfirming('off')}>
            Switch selected off
          </button>
        </div>
      )}
      {note && (
        <p className="muted" role="status">
          {note}
        </p>
      )}
      {limitsOf && (
        <ChannelLimitsForm
          key={limitsOf.id}
          channel={limitsOf}
          name={nameOf(limitsOf)}
          onCancel={() => setEditingLimits(undefined)}
          onSaved={(c) => {
            replace(c);
            setEditingLimits(undefined);
            setNote(`Safety limits of ${nameOf(c)} saved: ${limitsText(c.limits)}`);
          }}
        />
      )}
      {confirming && (
        <div role="dialog" aria-modal="true" aria-labelledby="bulk-title" className="card dialog">
          <h3 id="bulk-title">
            Switch {selected.size} channel{selected.size === 1 ? '' : 's'} {confirming}?
          </h3>
          <ul>
            {list.items
              .filter((c) => selected.has(c.id))
              .map((c) => (
                <li key={c.id}>{nameOf(c)}</li>
              ))}
          </ul>
          <button type="button" onClick={() => void bulk(confirming)}>
            Confirm
          </button>
          <button type="button" onClick={() => setConfirming(undefined)}>
            Cancel
          </button>
        </div>
      )}
    </section>
  );
}
