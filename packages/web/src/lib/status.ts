// One status vocabulary for every page: the hub computes a site's health (fleet/fleet-health.ts:
// Alerting, Offline, Commissioning, Healthy) and the fleet table, the site page and the owner's
// home all show that word; nothing here re-derives it. What the browser adds is only whether the
// values on screen are still live.
import type { FleetHealth } from '../api/fleet.ts';
import type { SiteNodeSummary } from '../api/sites.ts';

export type { FleetHealth };

export const HEALTH_LABEL: Record<FleetHealth, string> = {
  Alerting: 'Alerting',
  Offline: 'Offline',
  Commissioning: 'Commissioning',
  Healthy: 'Healthy',
};

/** Values older than this are not shown as live (the hub's offline sweep may not have run yet). */
export const STALE_MS = 5 * 60_000;

export function lastCommunication(nodes: SiteNodeSummary[]): string | null {
  let best: string | null = null;
  for (const n of nodes) if (n.last_seen_at && (!best || n.last_seen_at > best)) best = n.last_seen_at;
  return best;
}

/**
 * Offline when the hub says so, or when neither a heartbeat (last_seen_at) nor a stored sample
 * (dataAt: newest sample of that node, HTTP ingest does not touch last_seen_at) is recent.
 */
function nodeOffline(n: SiteNodeSummary, now: number, dataAt?: Record<string, number>): boolean {
  if (!n.active) return false;
  if (n.status === 'offline') return true;
  const seen = Math.max(n.last_seen_at ? Date.parse(n.last_seen_at) : 0, dataAt?.[n.id] ?? 0);
  return !seen || now - seen > STALE_MS;
}

/**
 * Alive (it uploads) but without an MQTT session: no command reaches it, e.g. an agent that was
 * handed no broker address it can reach. Shown on the node, so "online" is not taken to mean
 * "manageable".
 */
export function lacksControlChannel(
  n: SiteNodeSummary,
  now = Date.now(),
  dataAt?: Record<string, number>,
): boolean {
  return n.active && !n.control_channel && !nodeOffline(n, now, dataAt);
}

/** Power values are stale when the site is offline or the newest of them is older than STALE_MS. */
export function isStale(health: FleetHealth | undefined, newestDataMs: number, now: number): boolean {
  return health === 'Offline' || !newestDataMs || now - newestDataMs > STALE_MS;
}

/** An alert's lifecycle words (DESIGN.md: open → acknowledged → resolved), for every page. */
export type AlertState = 'open' | 'acknowledged' | 'resolved';
export type AlertSeverity = 'info' | 'warning' | 'critical';

export const ALERT_STATE_LABEL: Record<AlertState, string> = {
  open: 'Open',
  acknowledged: 'Acknowledged',
  resolved: 'Resolved',
};

export const SEVERITY_LABEL: Record<AlertSeverity, string> = {
  info: 'Info',
  warning: 'Warning',
  critical: 'Critical',
};

/** A user account's state as the users table shows it. */
export const ACCOUNT_STATE_LABEL = { active: 'Active', disabled: 'Disabled' } as const;
