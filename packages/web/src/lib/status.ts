// Health classification for the owner status badge; the fleet table's buckets are the hub's rule (fleet-health.ts).
import type { Alert } from '../api/alerts.ts';
import type { SiteNodeSummary } from '../api/sites.ts';

export type Health = 'ok' | 'warning' | 'error';
export type FleetState = 'alerting' | 'offline' | 'commissioning' | 'healthy';

/** A node silent this long is offline even before the hub's sweep marks it. */
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

export function siteHealth(
  nodes: SiteNodeSummary[],
  alerts: Alert[],
  now = Date.now(),
  dataAt?: Record<string, number>,
): Health {
  const open = alerts.filter((a) => a.state !== 'resolved');
  if (open.some((a) => a.severity === 'critical') || nodes.some((n) => nodeOffline(n, now, dataAt)))
    return 'error';
  if (open.length > 0 || nodes.length === 0) return 'warning';
  return 'ok';
}
