// Local alerts for the dashboard: what an installer standing next to the box should look at.
// Derived from current state each time, so they clear themselves when the cause goes away.
import { CLOCK_UNSYNC_MS } from '../events/clock-monitor.ts';
import { NTP_GRACE_MS } from '../events/ntp-monitor.ts';
import type { OutboxStats } from '../outbox/outbox.ts';
import type { UplinkStatus } from '../uplink/uplink.ts';
import type { SourceHealth } from './poller.ts';

export interface LocalAlert {
  severity: 'warning' | 'error';
  kind: string;
  message: string;
}

export function currentAlerts(s: {
  now: number;
  sources: SourceHealth[];
  outbox?: OutboxStats;
  maxBytes?: number;
  uplink?: UplinkStatus;
  controlConnected?: boolean;
  enrolled: boolean;
  configProblems?: number;
  /** This node's clock − the hub's, from the last signed answer. */
  clockOffsetMs?: number | null;
  /** Since when the OS has said its clock is not NTP-synchronised (events/ntp-monitor.ts). */
  ntpUnsynchronisedSince?: number | null;
}): LocalAlert[] {
  const alerts: LocalAlert[] = [];
  if (s.configProblems) {
    alerts.push({
      severity: 'error',
      kind: 'config.invalid',
      message: `${s.configProblems} configuration problem(s)`,
    });
  }
  if (!s.enrolled)
    alerts.push({ severity: 'warning', kind: 'node.not_enrolled', message: 'not enrolled with a hub yet' });
  for (const src of s.sources) {
    if (src.failingSince !== null) {
      alerts.push({
        severity: 'error',
        kind: 'equipment.unreachable',
        message: `${src.key}: ${src.lastError} (since ${new Date(src.failingSince).toISOString()})`,
      });
    }
  }
  if (s.outbox && s.maxBytes && s.outbox.bytes > 0.8 * s.maxBytes) {
    alerts.push({
      severity: 'warning',
      kind: 'outbox.nearly_full',
      message: `outbox ${Math.round((100 * s.outbox.bytes) / s.maxBytes)}% full`,
    });
  }
  if (s.outbox && s.outbox.dropped > 0) {
    alerts.push({
      severity: 'error',
      kind: 'outbox.dropped',
      message: `${s.outbox.dropped} samples dropped because the outbox was full`,
    });
  }
  if (s.outbox && s.outbox.poisoned > 0) {
    alerts.push({
      severity: 'warning',
      kind: 'outbox.poison',
      message: `${s.outbox.poisoned} samples refused by the hub and set aside`,
    });
  }
  if (s.uplink && s.uplink.consecutiveFailures > 0 && s.uplink.state !== 'sending') {
    const since = s.uplink.lastSuccessAt
      ? `last success ${new Date(s.uplink.lastSuccessAt).toISOString()}`
      : 'never succeeded';
    alerts.push({
      severity: s.uplink.state === 'open' ? 'error' : 'warning',
      kind: 'uplink.failing',
      message: `${s.uplink.lastError} (${since})`,
    });
  }
  if (typeof s.clockOffsetMs === 'number' && Math.abs(s.clockOffsetMs) > CLOCK_UNSYNC_MS) {
    alerts.push({
      // Past the hub's signature window (5 min) nothing is accepted over HTTP: the data waits here.
      severity: Math.abs(s.clockOffsetMs) > 5 * 60_000 ? 'error' : 'warning',
      kind: 'clock.unsynchronised',
      message: `clock is ${Math.round(s.clockOffsetMs / 1000)} s off the hub's (fix NTP on this box)`,
    });
  }
  if (typeof s.ntpUnsynchronisedSince === 'number' && s.now - s.ntpUnsynchronisedSince >= NTP_GRACE_MS) {
    alerts.push({
      severity: 'warning',
      kind: 'clock.ntp_unsynchronised',
      message: `NTP has not synchronised the clock since ${new Date(s.ntpUnsynchronisedSince).toISOString()} (can this box reach its NTP servers?)`,
    });
  }
  if (s.enrolled && s.controlConnected === false) {
    alerts.push({
      severity: 'warning',
      kind: 'control.disconnected',
      message: 'control channel (MQTT) is not connected',
    });
  }
  return alerts;
}
