// The command lookup table of a running agent. Every handler reads the agent's parts through
// getters, so a CONFIG_PUSH reload swaps sources, updater or hub without rewiring anything.

import { type AgentConfig, type ConfigResult, parseConfigText } from '@wattfleet/devices/config';
import { EVENT_KINDS } from '@wattfleet/protocol';
import type { HandlerTable } from '../control/dispatcher.ts';
import { type AutomationTarget, automationPushHandler } from '../control/handlers/automation-push.ts';
import { configPushHandler } from '../control/handlers/config-push.ts';
import { diagnosticsHandler } from '../control/handlers/diagnostics.ts';
import { fetchLogsHandler } from '../control/handlers/fetch-logs.ts';
import { openTunnelHandler } from '../control/handlers/open-tunnel.ts';
import { relaySetHandler } from '../control/handlers/relay-set.ts';
import { restartHandler } from '../control/handlers/restart.ts';
import { selfUpdateHandler } from '../control/handlers/self-update.ts';
import type { EventJournal } from '../events/journal.ts';
import { FileLogSource, JournalLogSource, type LogSource } from '../ops/logs.ts';
import type { Supervisor } from '../ops/supervisor.ts';
import type { TunnelManager } from '../ops/tunnel.ts';
import type { Updater } from '../ops/updater.ts';
import type { Outbox } from '../outbox/outbox.ts';
import type { Source } from '../sources/types.ts';
import type { HubClient } from '../uplink/signed-http.ts';

export interface HandlerDeps {
  config: () => AgentConfig;
  configPath: string;
  parse?: (text: string) => ConfigResult;
  supervisor: Supervisor;
  tunnels: TunnelManager;
  updater: () => Updater | undefined;
  sources: () => ReadonlyMap<string, Source>;
  outbox: () => Outbox;
  hub: () => HubClient;
  reload: (config: AgentConfig) => Promise<void>;
  healthCheck: (timeoutMs: number) => Promise<{ ok: boolean; detail: string }>;
  journal?: () => EventJournal | undefined;
  /** Edge automation (AUTOMATION_PUSH); absent = the command is not handled. */
  automation?: AutomationTarget;
  /** After a RELAY_SET confirmed: the edge runner counts it against the channel's limits. */
  relaySwitched?: (equipment: string, channel: string, state: 'on' | 'off') => void;
}

/** The log file when configured, else the unit's journal under systemd, else nothing to send. */
export function logSource(config: AgentConfig): LogSource | undefined {
  if (config.logging.file) return new FileLogSource(config.logging.file);
  return process.env.INVOCATION_ID ? new JournalLogSource() : undefined; // INVOCATION_ID: set by systemd
}

export function commandHandlers(d: HandlerDeps): HandlerTable {
  return {
    RESTART: restartHandler(d.supervisor),
    FETCH_LOGS: fetchLogsHandler({ logs: () => logSource(d.config()), hub: d.hub }),
    CONFIG_PUSH: configPushHandler({
      path: d.configPath,
      parse: d.parse ?? ((text) => parseConfigText(text)),
      apply: d.reload,
      healthCheck: (_c, timeoutMs) => d.healthCheck(timeoutMs),
      applied: (detail) =>
        d.journal?.()?.emit(EVENT_KINDS.configApplied, 'info', `config push applied: ${detail}`, {
          data: { health: detail.slice(0, 1000) },
        }),
      rolledBack: (detail) =>
        d.journal?.()?.emit(EVENT_KINDS.configRolledBack, 'error', `config push rolled back: ${detail}`, {
          data: { reason: detail.slice(0, 1000) },
        }),
    }),
    SELF_UPDATE: selfUpdateHandler(d.updater, d.journal),
    OPEN_TUNNEL: openTunnelHandler(d.tunnels),
    RELAY_SET: relaySetHandler(d.sources, d.relaySwitched),
    DIAGNOSTICS: diagnosticsHandler({
      sources: d.sources,
      hubUrl: () => d.config().hub.url,
      outbox: d.outbox,
      outboxPath: () => d.config().outbox.path,
    }),
    ...(d.automation ? { AUTOMATION_PUSH: automationPushHandler(d.automation) } : {}),
  };
}
