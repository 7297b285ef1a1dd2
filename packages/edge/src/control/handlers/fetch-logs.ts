// FETCH_LOGS: the last N lines, uploaded in chunks to POST /api/v1/nodes/{id}/logs (signed), so a
// large request never becomes one huge body on a slow uplink.
import { LIMITS, type LogUpload } from '@wattfleet/protocol';
import type { LogSource } from '../../ops/logs.ts';
import { type HubClient, signedPostJson } from '../../uplink/signed-http.ts';
import type { Handler } from '../dispatcher.ts';
import { CommandError } from '../errors.ts';

export const LOG_CHUNK_LINES = 200;

export function fetchLogsHandler(deps: {
  /** Asked per command: a CONFIG_PUSH may have changed logging.file. */
  logs: () => LogSource | undefined;
  hub: () => HubClient;
}): Handler<'FETCH_LOGS'> {
  return async (args, ctx) => {
    const logs = deps.logs();
    if (!logs) throw new CommandError('UNSUPPORTED', 'no log file (logging.file) and not under systemd');
    const lines = (await logs.tail(args.lines ?? 500)).map((l) => l.slice(0, LIMITS.logLineLength));
    const client = deps.hub();
    const path = `/api/v1/nodes/${encodeURIComponent(client.nodeId)}/logs`;
    const chunks = Math.max(1, Math.ceil(lines.length / LOG_CHUNK_LINES));
    for (let i = 0; i < chunks; i++) {
      const body: LogUpload = {
        commandId: ctx.id,
        chunk: i,
        final: i === chunks - 1,
        lines: lines.slice(i * LOG_CHUNK_LINES, (i + 1) * LOG_CHUNK_LINES),
      };
      const res = await signedPostJson(client, path, JSON.stringify(body));
      if (!res.ok) {
        const text = await res.text().catch(() => '');
        throw new CommandError(
          'UPLOAD_FAILED',
          `log upload chunk ${i} answered ${res.status}: ${text.slice(0, 300)}`,
        );
      }
    }
    return { lines: lines.length, chunks };
  };
}
