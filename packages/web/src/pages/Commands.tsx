// Command centre: pick a node, send a whitelisted command, watch its lifecycle live.
import type { CommandType } from '@wattfleet/protocol';
import { type FormEvent, useEffect, useMemo, useState } from 'react';
import { COMMAND_TYPES, type Command, commandsApi, TERMINAL_STATES } from '../api/commands.ts';
import { fleetApi } from '../api/fleet.ts';
import { ErrorNote } from '../components/ErrorNote.tsx';
import { dateTime } from '../lib/format.ts';
import { useAsync } from '../lib/use-async.ts';
import { realtime } from '../realtime/client.ts';

/** Default arguments per type, edited as JSON; the hub validates them against the protocol. */
const DEFAULT_ARGS: Record<CommandType, string> = {
  RESTART: '{ "reason": "portal" }',
  FETCH_LOGS: '{ "lines": 500 }',
  CONFIG_PUSH: '{ "config": "" }',
  SELF_UPDATE: '{ "tag": "v0.1.0" }',
  OPEN_TUNNEL: '{ "remotePort": 20022, "durationS": 900 }',
  RELAY_SET: '{ "equipment": "relay1", "state": "toggle" }',
  DIAGNOSTICS: '{}',
  // The hub compiles bundles itself when a node's automation changes; by hand only to test one.
  AUTOMATION_PUSH: '{ "bundle": {} }',
};

async function allNodes(signal: AbortSignal) {
  const sites = await fleetApi.sites(signal);
  return sites.flatMap((s) => s.nodeList.map((n) => ({ ...n, siteName: s.name })));
}

export function CommandsPage() {
  const nodes = useAsync(allNodes, []);
  const initial = new URLSearchParams(location.search).get('node') ?? '';
  const [nodeId, setNodeId] = useState(initial);
  const [type, setType] = useState<CommandType>('DIAGNOSTICS');
  const [args, setArgs] = useState(DEFAULT_ARGS.DIAGNOSTICS);
  const [error, setError] = useState<Error>();
  const [commands, setCommands] = useState<Command[]>([]);
  const selected = nodeId || nodes.data?.[0]?.id || '';

  // History of the node, then live updates; a slow poll covers a closed socket.
  useEffect(() => {
    if (!selected) return;
    let cancelled = false;
    const load = () =>
      commandsApi.list(selected).then(
        (list) => !cancelled && setCommands(list),
        (err: Error) => !cancelled && setError(err),
      );
    void load();
    const unsubscribe = realtime.subscribe({ nodeId: selected });
    const off = realtime.onEvent('command.updated', (d) => {
      if (d.nodeId !== selected) return;
      commandsApi.get(selected, d.commandId).then(
        (cmd) =>
          !cancelled &&
          setCommands((list) => {
            const i = list.findIndex((c) => c.id === cmd.id);
            if (i < 0) return [cmd, ...list];
            const next = [...list];
            next[i] = { ...next[i]!, ...cmd };
            return next;
          }),
        () => undefined,
      );
    });
    const timer = setInterval(() => {
      if (realtime.state !== 'open') void load();
    }, 5000);
    return () => {
      cancelled = true;
      unsubscribe();
      off();
      clearInterval(timer);
    };
  }, [selected]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(args) as Record<string, unknown>;
    } catch {
      setError(new Error('Arguments must be a JSON object'));
      return;
    }
    try {
      const cmd = await commandsApi.send(selected, type, parsed);
      setCommands((list) => [cmd, ...list.filter((c) => c.id !== cmd.id)]);
    } catch (err) {
      setError(err as Error);
    }
  };

  const sorted = useMemo(
    () => [...commands].sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? '')),
    [commands],
  );

  return (
    <div>
      <h1>Command centre</h1>
      <form className="card" onSubmit={submit} aria-labelledby="send-title">
        <h2 id="send-title">Send a command</h2>
        <label>
          Node{' '}
          <select value={selected} onChange={(e) => setNodeId(e.target.value)} required>
            {(nodes.data ?? []).map((n) => (
              <option key={n.id} value={n.id}>
                {n.siteName} / {n.name} ({n.status})
              </option>
            ))}
          </select>
        </label>
        <label>
          Command{' '}
          <select
            value={type}
            onChange={(e) => {
              const t = e.target.value as CommandType;
              setType(t);
              setArgs(DEFAULT_ARGS[t]);
            }}
          >
            {COMMAND_TYPES.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label>
          Arguments (JSON)
          <textarea value={args} onChange={(e) => setArgs(e.target.value)} rows={3} spellCheck={false} />
        </label>
        <button type="submit" className="primary" disabled={!selected}>
          Send
        </button>
        <ErrorNote error={error ?? nodes.error} />
      </form>
      <section className="card" aria-labelledby="history-title">
        <h2 id="history-title">Commands</h2>
        <div className="table-wrap">
          <table data-testid="command-table">
            <thead>
              <tr>
                <th>Type</th>
                <th>State</th>
                <th>Created</th>
                <th>Detail</th>
              </tr>
            </thead>
            <tbody>
              {sorted.map((c) => (
                <tr key={c.id} data-state={c.state}>
                  <td>{c.type}</td>
                  <td>
                    <span className={`state state-${c.state}`} aria-live="polite">
                      {c.state}
                      {TERMINAL_STATES.includes(c.state) ? '' : '…'}
                    </span>
                  </td>
                  <td>{dateTime(c.createdAt)}</td>
                  <td className="muted">
                    {c.error ?? (c.result ? JSON.stringify(c.result) : JSON.stringify(c.args))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </div>
  );
}
