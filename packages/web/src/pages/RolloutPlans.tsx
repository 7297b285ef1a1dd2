// Staged rollouts on the rollout page: the plan form (rings, health gate, ring wait, halt
// threshold) for the nodes selected above, and every recent rollout with its rings and each
// node's state and failure reason, polled every 3 s while one is running or paused; pause,
// resume and abort buttons. The hub executes the plan; this page only reads and asks.
import { useCallback, useEffect, useState } from 'react';
import {
  ACTIVE_ROLLOUT_STATES,
  parseRings,
  type RolloutDetail,
  ringLabel,
  rolloutsApi,
} from '../api/rollouts.ts';
import { ErrorNote } from '../components/ErrorNote.tsx';

const POLL_MS = 3000;

export function RolloutPlans({ selected, tag }: { selected: string[]; tag: string }) {
  const [rings, setRings] = useState('1, 10%, 100%');
  const [gateMin, setGateMin] = useState('10');
  const [waitMin, setWaitMin] = useState('10');
  const [threshold, setThreshold] = useState('0');
  const [details, setDetails] = useState<RolloutDetail[]>([]);
  const [error, setError] = useState<Error | undefined>();

  const load = useCallback(async (signal?: AbortSignal) => {
    const list = await rolloutsApi.list(signal);
    setDetails(await Promise.all(list.slice(0, 5).map((r) => rolloutsApi.get(r.id, signal))));
  }, []);
  const active = details.some((d) => ACTIVE_ROLLOUT_STATES.includes(d.rollout.state));
  useEffect(() => {
    const ctl = new AbortController();
    load(ctl.signal).catch((e) => !ctl.signal.aborted && setError(e as Error));
    const timer = active ? setInterval(() => load(ctl.signal).catch(() => undefined), POLL_MS) : undefined;
    return () => {
      ctl.abort();
      if (timer) clearInterval(timer);
    };
  }, [load, active]);

  const start = async () => {
    setError(undefined);
    const planned = parseRings(rings);
    if (!planned) {
      setError(new Error('Rings: counts and percentages separated by commas, e.g. "1, 10%, 100%"'));
      return;
    }
    try {
      await rolloutsApi.create({
        tag: tag.trim(),
        nodeIds: selected,
        rings: planned,
        gateS: Math.round(Number(gateMin) * 60),
        ringWaitS: Math.round(Number(waitMin) * 60),
        maxFailureRate: Number(threshold) / 100,
      });
      await load();
    } catch (err) {
      setError(err as Error);
    }
  };
  const act = async (id: string, action: 'pause' | 'resume' | 'abort') => {
    setError(undefined);
    try {
      await rolloutsApi.act(id, action);
      await load();
    } catch (err) {
      setError(err as Error);
    }
  };

  return (
    <section>
      <h2>Staged rollout</h2>
      <ErrorNote error={error} />
      <form
        className="card toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          void start();
        }}
      >
        <label>
          Rings <input value={rings} onChange={(e) => setRings(e.target.value)} size={14} />
        </label>
        <label>
          Health gate (min){' '}
          <input
            type="number"
            min="0"
            step="any"
            value={gateMin}
            onChange={(e) => setGateMin(e.target.value)}
          />
        </label>
        <label>
          Wait between rings (min){' '}
          <input
            type="number"
            min="0"
            step="any"
            value={waitMin}
            onChange={(e) => setWaitMin(e.target.value)}
          />
        </label>
        <label>
          Halt above failure rate (%){' '}
          <input
            type="number"
            min="0"
            max="100"
            value={threshold}
            onChange={(e) => setThreshold(e.target.value)}
          />
        </label>
        <button type="submit" disabled={selected.length === 0 || !tag.trim()}>
          Start staged rollout of {selected.length} node(s)
        </button>
      </form>
      {details.map((d) => (
        <div key={d.rollout.id} className="card" data-testid="rollout-plan" data-state={d.rollout.state}>
          <h3>
            {d.rollout.tag} — <span data-testid="rollout-state">{d.rollout.state}</span>
          </h3>
          <div className="toolbar">
            {d.rollout.state === 'running' && (
              <button type="button" onClick={() => void act(d.rollout.id, 'pause')}>
                Pause
              </button>
            )}
            {d.rollout.state === 'paused' && (
              <button type="button" onClick={() => void act(d.rollout.id, 'resume')}>
                Resume
              </button>
            )}
            {['running', 'paused', 'halted'].includes(d.rollout.state) && (
              <button type="button" className="danger" onClick={() => void act(d.rollout.id, 'abort')}>
                Abort
              </button>
            )}
          </div>
          {d.rollout.haltReason && (
            <p role="alert" data-testid="halt-reason">
              Halted: {d.rollout.haltReason}
            </p>
          )}
          <ol data-testid="rollout-rings">
            {d.ringSummary.map((r) => (
              <li key={r.index} aria-current={r.index === d.rollout.currentRing ? 'step' : undefined}>
                Ring {r.index + 1} (up to {ringLabel(d.rollout.rings[r.index]!)}): {r.size} node(s),{' '}
                {r.succeeded} updated, {r.failed} failed, {r.pending} pending
              </li>
            ))}
          </ol>
          <table>
            <thead>
              <tr>
                <th>Ring</th>
                <th>Node</th>
                <th>From</th>
                <th>State</th>
                <th>Reason</th>
              </tr>
            </thead>
            <tbody>
              {d.nodes.map((n) => (
                <tr key={n.nodeId} data-node={n.nodeId} data-state={n.state}>
                  <td>{n.ring + 1}</td>
                  <td>{n.nodeName}</td>
                  <td>{n.fromVersion ?? '–'}</td>
                  <td>{n.state}</td>
                  <td>{n.reason ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
    </section>
  );
}
