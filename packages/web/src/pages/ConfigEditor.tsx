// Agent config editor (admin, installer): YAML checked by the hub with the agent's own parser
// and rules (every problem with its line), a line diff against what the node last accepted, and
// a CONFIG_PUSH whose lifecycle is watched live. The editor starts from the config the node last
// accepted from the hub; with none known it starts empty (a placeholder that validates could be
// pushed and cut the node off). A push that leaves the node without any source, or points it at
// another hub, needs an explicit confirmation.
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

type Summary = { hubUrl: string; sources: number };

/** What in a valid config could cut the node off, against what it runs now (or this hub). */
function risks(next: Summary, current: Summary | undefined): string[] {
  const out: string[] = [];
  if (next.sources === 0) out.push('it removes every source: the node will read nothing');
  const hubUrl = current?.hubUrl ?? location.origin;
  if (next.hubUrl.replace(/\/+$/, '') !== hubUrl.replace(/\/+$/, ''))
    out.push(`it points the node at ${next.hubUrl} instead of ${hubUrl}: this hub may lose it`);
  return out;
}

export function ConfigEditorPage({ nodeId }: { nodeId: string }) {
  const node = useAsync(() => nodesApi.get(nodeId), [nodeId]);
  const current = useAsync(() => fleetApi.nodeConfig(nodeId), [nodeId]);
  const [text, setText] = useState<string>();
  const [checked, setChecked] = useState<{
    text: string;
    ok: boolean;
    problems: ConfigProblem[];
    summary?: Summary | undefined;
  }>();
  const [confirmed, setConfirmed] = useState('');
  const [error, setError] = useState<Error>();
  const { commands, track } = useWatchedCommands();
  const base = current.data?.config ?? '';
  const value = text ?? (current.loading ? '' : base);
  // The running config's summary (hub URL, sources), to compare a new one against.
  const baseSummary = useAsync(
    async () => (base ? (await fleetApi.validateConfig(base)).summary : undefined),
    [base],
  );
  const diff = useMemo(() => lineDiff(base, value), [base, value]);
  const changed = diff.some((d) => d.kind !== 'same');
  const valid = checked?.text === value && checked.ok;
  const dangers = valid && checked.summary ? risks(checked.summary, baseSummary.data) : [];
  const mayPush = valid && (dangers.length === 0 || confirmed === value);
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
      setChecked({ text: value, ok: r.ok, problems: r.problems, summary: r.summary });
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
            <button type="button" className="primary" disabled={!mayPush} onClick={() => void push()}>
              Push to node
            </button>
          </div>
          {!current.loading && !base && text === undefined && (
            <p className="muted" data-testid="config-unknown">
              The hub has no configuration of this node yet (none was pushed from here). Paste the node's
              current configuration (its agent.yaml) to edit it.
            </p>
          )}
          {checked?.text === value &&
            (checked.ok ? (
              <>
                <p className="ok" data-testid="config-valid">
                  Valid: the agent will accept this configuration.
                </p>
                {dangers.length > 0 && (
                  <div className="warning" data-testid="config-risks">
                    <p>Pushing this could cut the node off:</p>
                    <ul>
                      {dangers.map((d) => (
                        <li key={d}>{d}</li>
                      ))}
                    </ul>
                    <label className="inline">
                      <input
                        type="checkbox"
                        checked={confirmed === value}
                        onChange={(e) => setConfirmed(e.target.checked ? value : '')}
                      />{' '}
                      I understand, push it anyway
                    </label>
                  </div>
                )}
              </>
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
