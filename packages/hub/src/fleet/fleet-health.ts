// The fleet table's health buckets, pure so the rule is tested without a database.
export type Severity = 'info' | 'warning' | 'critical';
export type FleetHealth = 'Alerting' | 'Offline' | 'Commissioning' | 'Healthy';

const RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

export function worstSeverity(list: readonly Severity[]): Severity | null {
  let worst: Severity | null = null;
  for (const s of list) if (!worst || RANK[s] > RANK[worst]) worst = s;
  return worst;
}

/** The alert rule that only restates a node being offline. */
export const OFFLINE_RULE = 'node_offline';

/**
 * First match wins: a node offline and no open alert but the one saying so (the installer
 * filtering "Offline" must find it there, not under "Alerting"); any open alert; any active node
 * offline; nothing to watch yet (no active node, or no node has ever spoken, or the site is still
 * being commissioned and silent); healthy.
 */
export function fleetHealth(s: {
  siteStatus: string;
  openAlerts: number;
  /** Open alerts of the offline rule, included in openAlerts. */
  openOfflineAlerts?: number;
  nodes: { online: number; offline: number; unknown: number; total: number };
  lastCommunication: Date | null;
}): FleetHealth {
  if (s.nodes.offline > 0 && s.openAlerts === (s.openOfflineAlerts ?? 0)) return 'Offline';
  if (s.openAlerts > 0) return 'Alerting';
  if (s.nodes.offline > 0) return 'Offline';
  if (
    s.nodes.total === 0 ||
    !s.lastCommunication ||
    (s.siteStatus === 'commissioning' && s.nodes.online === 0)
  )
    return 'Commissioning';
  return 'Healthy';
}
