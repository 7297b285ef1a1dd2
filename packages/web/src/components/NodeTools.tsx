// Installer tools for one node: fetch logs (FETCH_LOGS, then the uploaded lines) and run
// diagnostics (DIAGNOSTICS, then its result data), both watched live.
import { useEffect, useState } from 'react';
import { commandsApi } from '../api/commands.ts';
import { useWatchedCommands } from '../lib/use-commands.ts';
import { CommandState } from './CommandState.tsx';
import { ErrorNote } from './ErrorNote.tsx';

export function NodeTools({ nodeId }: { nodeId: string }) {
  const { commands, track } = useWatchedCommands();
  const [error, setError] = useState<Error>();
  const [logs, setLogs] = useState<string[]>();
  const send = async (type: 'FETCH_LOGS' | 'DIAGNOSTICS') => {
    setError(undefined);
    try {
      track(await commandsApi.send(nodeId, type, type === 'FETCH_LOGS' ? { lines: 200 } : {}));
    } catch (err) {
      setError(err as Error);
    }
  };
  const lastLogs = commands.find((c) => c.type === 'FETCH_LOGS');
  const lastDiag = commands.find((c) => c.type === 'DIAGNOSTICS');
  // Logs are uploaded by the node before it reports success; read them once it has.
  useEffect(() => {
    if (lastLogs?.state !== 'succeeded') return;
    let cancelled = false;
    commandsApi.logs(nodeId, lastLogs.id).then(
      (r) => !cancelled && setLogs(r.lines),
      (err: Error) => !cancelled && setError(err),
    );
    return () => {
      cancelled = true;
    };
  }, [nodeId, lastLogs?.id, lastLogs?.state]);
  return (
    <div className="node-tools">
      <div className="actions">
        <button type="button" onClick={() => void send('FETCH_LOGS')}>
          Fetch logs
        </button>
        <button type="button" onClick={() => void send('DIAGNOSTICS')}>
          Run diagnostics
        </button>
      </div>
      <ErrorNote error={error} />
      {lastDiag && (
        <div data-testid="diagnostics">
          <CommandState command={lastDiag} />
          {lastDiag.result !== undefined && lastDiag.result !== null && (
            <pre className="logs" data-testid="diagnostics-result">
              {JSON.stringify(lastDiag.result, null, 2)}
            </pre>
          )}
        </div>
      )}
      {lastLogs && (
        <div data-testid="logs">
          <CommandState command={lastLogs} />
          {logs && (
            <pre className="logs" data-testid="logs-lines">
              {logs.length ? logs.join('\n') : '(no lines)'}
            </pre>
          )}
        </div>
      )}
    </div>
  );
}
