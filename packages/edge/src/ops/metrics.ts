// Prometheus metrics, read from live state at scrape time (no double bookkeeping to drift).
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { OutboxStats } from '../outbox/outbox.ts';
import type { SourceHealth } from '../runtime/poller.ts';
import type { UplinkStatus } from '../uplink/uplink.ts';

export interface MetricsSource {
  outbox?: () => OutboxStats;
  uplink?: () => UplinkStatus | undefined;
  breaker?: () => string | undefined;
  sources?: () => SourceHealth[];
  controlConnected?: () => boolean;
  configValid: () => boolean;
  /** This node's clock − the hub's (ms), as the last signed answer showed; undefined = not known. */
  clockOffsetMs?: () => number | null | undefined;
  /** Events and daily reports not yet acknowledged by the hub. */
  reportsPending?: () => { events: number; daily: number } | undefined;
}

export function createMetrics(src: MetricsSource): { registry: Registry; readings: Counter } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'wattfleet_agent_' });
  const gauge = (name: string, help: string, read: (g: Gauge) => void, labelNames: string[] = []) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        read(this);
      },
    });
  const stats = () => src.outbox?.();
  gauge('wattfleet_outbox_depth_samples', 'Samples waiting in the outbox', (g) => g.set(stats()?.depth ?? 0));
  gauge('wattfleet_outbox_bytes', 'Bytes in use in the state file, bounded by outbox.maxBytes', (g) =>
    g.set(stats()?.bytes ?? 0),
  );
  gauge('wattfleet_outbox_batches', 'Formed batches waiting for an ack', (g) => g.set(stats()?.batches ?? 0));
  gauge('wattfleet_outbox_dropped_samples_total', 'Samples dropped because the outbox was full', (g) =>
    g.set(stats()?.dropped ?? 0),
  );
  gauge('wattfleet_outbox_poisoned_samples_total', 'Samples the hub refused as invalid', (g) =>
    g.set(stats()?.poisoned ?? 0),
  );
  gauge('wattfleet_outbox_acked_samples_total', 'Samples acknowledged by the hub', (g) =>
    g.set(stats()?.acked ?? 0),
  );
  gauge('wattfleet_uplink_consecutive_failures', 'Failed sends since the last success', (g) =>
    g.set(src.uplink?.()?.consecutiveFailures ?? 0),
  );
  gauge('wattfleet_uplink_breaker_open', '1 when the uplink circuit breaker is open', (g) =>
    g.set(src.breaker?.() === 'open' ? 1 : 0),
  );
  gauge('wattfleet_control_connected', '1 when the MQTT control channel is connected', (g) =>
    g.set(src.controlConnected?.() ? 1 : 0),
  );
  gauge('wattfleet_config_valid', '0 when the agent runs in config-error mode', (g) =>
    g.set(src.configValid() ? 1 : 0),
  );
  gauge(
    'wattfleet_clock_offset_seconds',
    "This node's clock minus the hub's, from the last signed answer",
    (g) => {
      const ms = src.clockOffsetMs?.();
      if (typeof ms === 'number') g.set(ms / 1000);
      else g.reset();
    },
  );
  gauge(
    'wattfleet_reports_pending',
    'Events and daily reports waiting for the hub',
    (g) => {
      const p = src.reportsPending?.();
      g.reset();
      if (p) for (const [channel, n] of Object.entries(p)) g.set({ channel }, n);
    },
    ['channel'],
  );
  gauge(
    'wattfleet_source_up',
    '1 when the last read of a source succeeded',
    (g) => {
      g.reset();
      for (const s of src.sources?.() ?? []) g.set({ source: s.key }, s.failingSince === null ? 1 : 0);
    },
    ['source'],
  );
  const readings = new Counter({
    name: 'wattfleet_readings_total',
    help: 'Readings appended to the outbox',
    registers: [registry],
  });
  return { registry, readings };
}
