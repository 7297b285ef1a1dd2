// The hub's Prometheus metrics: one prom-client Registry per hub instance (several hubs can live in
// one process, as in tests), every series labelled `hub` so a multi-hub fleet can be told apart,
// every name starting with `wattfleet_`. Services get this object on the hub context and record an
// event with one call; gauges that describe stored state (nodes online, open alerts, job lag) are
// read at scrape time instead (db-gauges.ts), so nothing has to keep them in sync.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export type Transport = 'http' | 'mqtt';

/** Marks an error already counted as an ingest reject, so the HTTP error hook does not count it again. */
export const COUNTED = Symbol('wattfleet.metrics.counted');

/** The WF_… code of a refused input, or undefined for an unexpected failure. */
export function rejectCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; statusCode?: unknown; validation?: unknown };
  if (typeof e?.code === 'string' && e.code.startsWith('WF_')) return e.code;
  if (e?.validation) return 'WF_VALIDATION';
  if (e?.statusCode === 429) return 'WF_RATE_LIMITED';
  if (e?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return 'WF_BODY_TOO_LARGE';
  if (typeof e?.code === 'string' && e.code.startsWith('FST_ERR_CTP_')) return 'WF_BAD_JSON';
  return undefined;
}

export class HubMetrics {
  readonly registry = new Registry();

  readonly ingestBatches: Counter<'transport' | 'result'>;
  readonly ingestSamples: Counter<'transport'>;
  readonly ingestSeconds: Histogram<'transport'>;
  readonly ingestRejects: Counter<'transport' | 'code'>;
  readonly ingestFailures: Counter<'transport'>;
  readonly groupBatches: Histogram;
  readonly groupSamples: Histogram;
  readonly mqttInFlight: Gauge<'channel'>;
  readonly mqttReconnects: Counter;
  readonly heartbeatsApplied: Counter;
  readonly heartbeatsLate: Counter;
  readonly commandTransitions: Counter<'type' | 'state'>;
  readonly alertEvaluations: Counter<'result'>;
  readonly notificationDeliveries: Counter<'kind' | 'result'>;
  readonly jobRuns: Counter<'job' | 'result'>;
  readonly jobSeconds: Histogram<'job'>;
  readonly jobLastSuccess: Gauge<'job'>;
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly scrapeErrors: Counter<'collector'>;

  constructor(hubId: string) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ hub: hubId });
    // Process CPU, memory, GC and event-loop lag (wattfleet_nodejs_eventloop_lag_seconds, …).
    collectDefaultMetrics({ register: this.registry, prefix: 'wattfleet_' });

    this.ingestBatches = new Counter({
      name: 'wattfleet_ingest_batches_total',
      help: 'Telemetry batches accepted, by transport and result (stored, or duplicate of one stored before)',
      labelNames: ['transport', 'result'],
      registers,
    });
    this.ingestSamples = new Counter({
      name: 'wattfleet_ingest_samples_total',
      help: 'Samples stored by telemetry ingest',
      labelNames: ['transport'],
      registers,
    });
    this.ingestSeconds = new Histogram({
      name: 'wattfleet_ingest_batch_seconds',
      help: 'Time from a telemetry batch reaching the ingest service to its commit (or refusal)',
      labelNames: ['transport'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.ingestRejects = new Counter({
      name: 'wattfleet_ingest_rejects_total',
      help: 'Ingest requests and messages refused, by transport and WF_ error code',
      labelNames: ['transport', 'code'],
      registers,
    });
    this.ingestFailures = new Counter({
      name: 'wattfleet_ingest_failures_total',
      help: 'Telemetry batches that failed unexpectedly (not refused input: database errors and the like)',
      labelNames: ['transport'],
      registers,
    });
    this.groupBatches = new Histogram({
      name: 'wattfleet_ingest_group_commit_batches',
      help: 'Batches written by one ingest transaction (group commit)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers,
    });
    this.groupSamples = new Histogram({
      name: 'wattfleet_ingest_group_commit_samples',
      help: 'Samples written by one ingest transaction (group commit)',
      buckets: [10, 100, 500, 1000, 5000, 10_000, 20_000, 50_000],
      registers,
    });
    this.mqttInFlight = new Gauge({
      name: 'wattfleet_mqtt_messages_in_flight',
      help: 'MQTT messages received and not yet handled (the consumer backlog), by channel',
      labelNames: ['channel'],
      registers,
    });
    this.mqttReconnects = new Counter({
      name: 'wattfleet_mqtt_reconnects_total',
      help: 'Reconnect attempts of the hub to an external MQTT broker',
      registers,
    });
    this.heartbeatsApplied = new Counter({
      name: 'wattfleet_heartbeats_applied_total',
      help: 'Heartbeats written to the nodes table (the newest per node and flush)',
      registers,
    });
    this.heartbeatsLate = new Counter({
      name: 'wattfleet_heartbeats_late_total',
      help: 'Heartbeats from a node the hub had already marked offline (silence timeout or last will)',
      registers,
    });
    this.commandTransitions = new Counter({
      name: 'wattfleet_command_transitions_total',
      help: 'Commands entering a state (pending on creation), by command type and state',
      labelNames: ['type', 'state'],
      registers,
    });
    this.alertEvaluations = new Counter({
      name: 'wattfleet_alert_evaluations_total',
      help: 'Alert rule evaluations of one site, by result',
      labelNames: ['result'],
      registers,
    });
    this.notificationDeliveries = new Counter({
      name: 'wattfleet_notification_deliveries_total',
      help: 'Notification delivery attempts by channel kind and result (sent, retry, failed for good)',
      labelNames: ['kind', 'result'],
      registers,
    });
    this.jobRuns = new Counter({
      name: 'wattfleet_job_runs_total',
      help: 'Scheduled job ticks by result: ok, failed, or skipped (another hub or an earlier run holds it)',
      labelNames: ['job', 'result'],
      registers,
    });
    this.jobSeconds = new Histogram({
      name: 'wattfleet_job_duration_seconds',
      help: 'Duration of job runs on this hub',
      labelNames: ['job'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900],
      registers,
    });
    this.jobLastSuccess = new Gauge({
      name: 'wattfleet_job_last_success_timestamp_seconds',
      help: 'When a job last finished successfully on this hub (Unix seconds)',
      labelNames: ['job'],
      registers,
    });
    this.requests = new Counter({
      name: 'wattfleet_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status code',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.scrapeErrors = new Counter({
      name: 'wattfleet_metrics_collect_errors_total',
      help: 'Scrape-time collectors that failed (the gauge then keeps its previous value)',
      labelNames: ['collector'],
      registers,
    });
  }

  /**
   * Times one telemetry batch through the ingest service and counts its outcome. Refusals are
   * counted by code and marked, so an HTTP error hook further out does not count them twice.
   */
  async observeIngest<R extends { status: 'stored' | 'duplicate'; stored: number }>(
    transport: Transport,
    ingest: () => Promise<R>,
  ): Promise<R> {
    const end = this.ingestSeconds.startTimer({ transport });
    try {
      const result = await ingest();
      this.ingestBatches.inc({ transport, result: result.status });
      if (result.stored) this.ingestSamples.inc({ transport }, result.stored);
      return result;
    } catch (err) {
      this.countIngestError(transport, err);
      throw err;
    } finally {
      end();
    }
  }

  countIngestError(transport: Transport, err: unknown): void {
    if (err && typeof err === 'object') {
      if ((err as { [COUNTED]?: boolean })[COUNTED]) return;
      (err as { [COUNTED]?: boolean })[COUNTED] = true;
    }
    const code = rejectCode(err);
    if (code) this.ingestRejects.inc({ transport, code });
    else this.ingestFailures.inc({ transport });
  }

  /** Counts a message of `channel` as in flight until `handle` settles. */
  trackMqtt<T>(channel: string, handle: () => Promise<T>): Promise<T> {
    this.mqttInFlight.inc({ channel });
    return handle().finally(() => this.mqttInFlight.dec({ channel }));
  }

  /** Stops the event-loop monitor and observers of the default metrics (a closed hub in a test). */
  close(): void {
    this.registry.clear();
  }
}
