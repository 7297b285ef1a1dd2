// What the agent says about itself: the local dashboard's status (/api/status) and the heartbeat
// it sends the hub. Read from the live parts each time, never kept twice.
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { gitCommit, systemInfo } from '../ops/system-info.ts';
import { APP_ROOT } from '../paths.ts';
import { AGENT_VERSION } from '../version.ts';
import type { Agent } from './agent.ts';
import { currentAlerts } from './alerts.ts';

export function agentStatus(a: Agent): Record<string, unknown> {
  const outbox = a.outbox?.stats();
  const sources = [...(a.poller?.health.values() ?? [])];
  const clock = a.reports?.clock.view ?? null;
  const ntp = a.reports?.ntp.view ?? null;
  return {
    mode: a.mode,
    agentVersion: AGENT_VERSION,
    startedAt: a.startedAt,
    node: a.identity
      ? { nodeId: a.identity.nodeId, siteId: a.identity.siteId, name: a.identity.name ?? null }
      : null,
    // The local dashboard titles itself with the node's name, else the machine's.
    hostname: hostname(),
    site: a.config ? { timezone: a.config.site.timezone } : null,
    hub: a.config ? { url: a.config.hub.url, transport: a.config.hub.transport } : null,
    outbox,
    uplink: a.uplink?.status ?? null,
    breaker: a.uplink?.breakerState ?? null,
    controlConnected: a.control?.connected ?? false,
    lastHeartbeatAt: a.control?.lastHeartbeatAt ?? null,
    sources,
    tunnel: a.tunnels?.current ?? null,
    // This node's clock against the hub's (offsetMs = node − hub), the OS's NTP state, and what
    // waits for the hub.
    clock,
    ntp,
    reports: a.reports?.status() ?? null,
    // What this node executes itself (issue 13.7): the bundle it runs, hub or no hub.
    automation: a.automation
      ? {
          bundleVersion: a.automation.bundle?.version ?? null,
          schedules: a.automation.bundle?.schedules.length ?? 0,
          paused: a.automation.bundle?.site.paused ?? false,
          lastTickAt: a.automation.lastTickAt,
        }
      : null,
    alerts: currentAlerts({
      now: Date.now(),
      sources: [
        ...sources,
        ...a.sourceFailures.map((f) => ({
          key: f.key,
          type: '?',
          lastOkAt: null,
          lastError: f.error,
          failingSince: a.appliedAt,
          reads: 0,
          errors: 1,
        })),
      ],
      outbox,
      maxBytes: a.config?.outbox.maxBytes,
      uplink: a.uplink?.status,
      controlConnected: a.control ? a.control.connected : undefined,
      enrolled: Boolean(a.identity),
      configProblems: a.problems.length,
      clockOffsetMs: clock?.offsetMs ?? null,
      ntpUnsynchronisedSince: ntp?.unsynchronisedSince ?? null,
    }),
  };
}

/** Everything in a heartbeat but state and clock (the control channel adds those). */
export async function heartbeatStatus(a: Agent) {
  const sys = await systemInfo(dirname(a.config.outbox.path));
  const stats = a.outbox!.stats();
  const commit = await gitCommit(APP_ROOT);
  const offsetMs = a.reports?.clock.view.offsetMs;
  return {
    agentVersion: AGENT_VERSION,
    ...(commit ? { gitCommit: commit } : {}),
    ...sys,
    outboxDepth: Math.max(0, stats.depth),
    outboxDropped: stats.dropped,
    configVersion: String(a.config.version),
    // The hub judges data completeness against this.
    pollIntervalS: a.config.poll.intervalS,
    ...(typeof offsetMs === 'number' ? { clockOffsetMs: offsetMs } : {}),
  };
}
