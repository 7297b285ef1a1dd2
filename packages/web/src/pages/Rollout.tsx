// Admin rollout: agent version of every node, select some, then either send SELF_UPDATE with a
// tag to each at once and watch every command's state live, or start a staged rollout that the
// hub executes ring by ring with a health gate and an automatic halt (RolloutPlans). Versions are read again once every update has finished
// (an updated agent reports its new version in its next heartbeat; Refresh reads it later).
import { useEffect, useMemo, useState } from 'react';
import { commandsApi, TERMINAL_STATES } from '../api/commands.ts';
import { fleetApi } from '../api/fleet.ts';
import { CommandState } from '../components/CommandState.tsx';
import { ErrorNote } from '../components/ErrorNote.tsx';
import { useAsync } from '../lib/use-async.ts';
import { useWatchedCommands } from '../lib/use-commands.ts';
import { RolloutPlans } from './RolloutPlans.tsx';

export function RolloutPage() {
  const fleet = useAsync((signal) => fleetApi.sites(signal), []);
  const nodes = useMemo(
    () => (fleet.data ?? []).flatMap((s) => s.nodeList.map((n) => ({ ...n, siteName: s.name }))),
    [fleet.data],
  );
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [tag, setTag] = useState('');
  const [errors, setErrors] = useState<Error[]>([]);
  const { commands, track } = useWatchedCommands();
  const latestFor = (nodeId: string) => commands.find((c) => c.nodeId === nodeId);
  const finished = commands.length > 0 && commands.every((c) => TERMINAL_STATES.includes(c.state));
  const { reload } = fleet;
  useEffect(() => {
    if (finished) reload();
  }, [finished, reload]);

  const roll = async () => {
    setErrors([]);
    const failed: Error[] = [];
    for (const id of selected) {
      try {
        track(await commandsApi.send(id, 'SELF_UPDATE', { tag: tag.trim() }));
      } catch (err) {
        failed.push(err as Error);
      }
    }
    setErrors(failed);
  };
  const toggle = (id: string) =>
    setSelected((s) => {
      const next = new Set(s);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  return (
    <div>
      <h1 tabIndex={-1}>Agent rollout</h1>
      <ErrorNote error={fleet.error ?? errors[0]} />
      <form
        className="card toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          void roll();
        }}
      >
        <label>
          Release tag{' '}
          <input value={tag} onChange={(e) => setTag(e.target.value)} required placeholder="v0.2.0" />
        </label>
        <button type="submit" className="primary" disabled={selected.size === 0 || !tag.trim()}>
          Update {selected.size} node(s)
        </button>
        <button type="button" onClick={reload} disabled={fleet.loading}>
          Refresh versions
        </button>
      </form>
      <div className="table-wrap card">
        <table data-testid="rollout-table">
          <thead>
            <tr>
              <th>
                <input
                  type="checkbox"
                  aria-label="Select all"
                  checked={nodes.length > 0 && selected.size === nodes.length}
                  onChange={(e) =>
                    setSelected(e.target.checked ? new Set(nodes.map((n) => n.id)) : new Set())
                  }
                />
              </th>
              <th>Site</th>
              <th>Node</th>
              <th>Status</th>
              <th>Agent version</th>
              <th>Update</th>
            </tr>
          </thead>
          <tbody>
            {nodes.map((n) => {
              const cmd = latestFor(n.id);
              return (
                <tr key={n.id} data-node={n.id}>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`Select ${n.siteName} / ${n.name}`}
                      checked={selected.has(n.id)}
                      onChange={() => toggle(n.id)}
                    />
                  </td>
                  <td>{n.siteName}</td>
                  <td>{n.name}</td>
                  <td>{n.status}</td>
                  <td data-testid="agent-version">{n.agentVersion ?? '–'}</td>
                  <td>{cmd ? <CommandState command={cmd} /> : ''}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <RolloutPlans selected={[...selected]} tag={tag} />
    </div>
  );
}
