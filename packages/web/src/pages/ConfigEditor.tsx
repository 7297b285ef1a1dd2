// Agent config editor (admin, installer): YAML checked by the hub with the agent's own parser
// and rules (every problem with its line), a line diff against what the node last accepted, and
// a CONFIG_PUSH whose lifecycle is watched live.
import { useEffect, useMemo, useState } from 'react';
import { commandsApi } from '../api/commands.ts';
import { type ConfigProblem, fleetApi } from '../api/fleet.ts';
import { nodesApi } from '../api/nodes.ts';
import { CommandState } from '../components/CommandState.tsx';
import { ErrorNote } from '../components/ErrorNote.tsx';
import { lineDiff } from '../lib/diff.ts';
import { dateTime } from '../lib/format.ts';
import { useAsync } from '../lib/use-async.ts';
import { useWatchedCommands } from '../lib/use-commands.ts';
import { Link } from '../router.tsx';

const STARTER = `version: 2
hub:
  url: https://hub.example.org
site:
  lat: 0
  lon: 0
  timezone: UTC
sources: []
`;

export function ConfigEditorPage({ nodeId }: { nodeId: string }) {
  const node = useAsync(() => nodesApi.get(nodeId), [nodeId]);
  const current = useAsync(() => fleetApi.nodeConfig(nodeId), [nodeId]);
  const [text, setText] = useState<string>();
  const [checked, setChecked] = useState<{ text: string; ok: boolean; problems: ConfigProblem[] }>();
  const [error, setError] = useState<Error>();
  const { commands, track } = useWatchedCommands();
  const base = current.data?.config ?? '';
  const value = text ?? (current.loading ? '' : base || STARTER);
  const diff = useMemo(() => lineDiff(base, value), [base, value]);
  const changed = diff.some((d) => d.kind !== 'same');
  const valid = checked?.text === value && checked.ok;
  // Once the node reports a push applied, that config is the new "current" to diff against.
  const applied = commands.find((c) => c.type === 'CONFIG_PUSH' && c.state === 'succeeded')?.id;
  const reloadCurrent = current.reload;
  useEffect(() => {
    if (applied) reloadCurrent();
  }, [applied, reloadCurrent]);

  const validate = async () => {
    setError(undefined);
    try {
      const r = await fleetApi.validateConfig(value);
      setChecked({ text: value, ok: r.ok, problems: r.problems });
    } catch (err) {
      setError(err as Error);
    }
  };
  const push = async () => {
    setError(undefined);
    try {
      track(await commandsApi.send(nodeId, 'CONFIG_PUSH', { config: value }));
    } catch (err) {
      setError(err as Error);
    }
  };

  return (
    <div>
      <h1 tabIndex={-1}>Config of {node.data?.name ?? 'node'}</h1>
      {node.data && (
        <p className="muted">
          <Link href={`/sites/${node.data.site_id}`}>Back to the site</Link> ·{' '}
          {current.data
            ? `current config pushed ${dateTime(current.data.appliedAt)}`
            : 'no config pushed from the hub yet'}
        </p>
      )}
      <ErrorNote error={error ?? node.error ?? current.error} />
      <div className="grid-2">
        <section className="card">
          <h2>YAML</h2>
          <label>
            Agent configuration
            <textarea
              data-testid="config-text"
              value={value}
              onChange={(e) => setText(e.target.value)}
              rows={24}
              spellCheck={false}
              className="code"
            />
          </label>
          <div className="actions">
            <button type="button" onClick={() => void validate()}>
              Validate
            </button>
            <button type="button" className="primary" disabled={!valid} onClick={() => void push()}>
              Push to node
            </button>
          </div>
          {checked?.text === value &&
            (checked.ok ? (
              <p className="ok" data-testid="config-valid">
                Valid: the agent will accept this configuration.
              </p>
            ) : (
              <div role="alert">
                <p className="error">{checked.problems.length} problem(s); nothing can be pushed:</p>
                <ul data-testid="config-problems">
                  {checked.problems.map((p) => (
                    <li key={`${p.path}|${p.message}`}>
                      {p.line !== null ? `line ${p.line}` : 'file'} · <code>{p.path || '/'}</code> {p.message}
                    </li>
                  ))}
                </ul>
              </div>
            ))}
          {commands.map((c) => (
            <p key={c.id}>
              <CommandState command={c} />
            </p>
          ))}
        </section>
        <section className="card">
          <h2>Changes against the current config</h2>
          {!changed ? (
            <p className="muted">No changes.</p>
          ) : (
            <pre className="diff" data-testid="config-diff">
              {diff.map((d, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: lines of one rendering, never reordered
                <div key={i} className={`diff-${d.kind}`}>
                  {d.kind === 'add' ? '+ ' : d.kind === 'del' ? '- ' : '  '}
                  {d.text}
                </div>
              ))}
            </pre>
          )}
        </section>
      </div>
    </div>
  );
}
