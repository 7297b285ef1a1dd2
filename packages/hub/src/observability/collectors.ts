// Scrape-time metrics: values read when Prometheus asks, from the database (nodes online, open
// commands and alerts, job backlogs) and from counters the services already keep (control-plane
// channel stats, heartbeat stats, realtime stats, the pg pool). Reading stored state at scrape time
// means nothing has to keep a gauge in step with the tables, and several hubs report the same
// fleet-wide numbers (aggregate them with max(), not sum()).
//
// Database reads are bounded: a scrape while the database hangs answers in about a second with the
// previous values and counts the failure (wattfleet_metrics_collect_errors_total), so /metrics
// stays usable exactly when the operator needs it.
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { Counter, Gauge } from 'prom-client';
import { listPartitions, rawRetentionStart, utcDayStart } from '../storage/partitions.ts';
import type { HubMetrics } from './metrics.ts';

const DAY_MS = 86_400_000;
const DB_TIMEOUT_MS = 1500;

interface Snapshot {
  nodes: { status: string; n: number }[];
  commands: { type: string; state: string; n: number }[];
  alerts: { rule: string; state: string; n: number }[];
  outbox: { status: string; n: number; oldest_s: number | null }[];
  backlog: { job: string; n: number; lag_s: number | null }[];
  partitionsAheadDays: number;
  overduePartitions: number;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export function registerCollectors(app: FastifyInstance, metrics: HubMetrics): void {
  const hub = app.hub;
  const registers = [metrics.registry];
  // Several gauges are filled from one round of queries: the collectors of one scrape run
  // concurrently and share the read in flight; the next scrape reads afresh.
  let inFlight: Promise<Snapshot | undefined> | undefined;
  let stuck = false;

  const read = async (): Promise<Snapshot> => {
    const db = hub.db;
    const now = Date.now();
    const [nodes, commands, alerts, outbox, backlog, partitions] = await Promise.all([
      sql<{ status: string; n: number }>`
        SELECT status, count(*)::int AS n FROM nodes WHERE active GROUP BY status`.execute(db),
      sql<{ type: string; state: string; n: number }>`
        SELECT type, state, count(*)::int AS n FROM commands
        WHERE state IN ('pending', 'delivered', 'running') GROUP BY type, state`.execute(db),
      sql<{ rule: string; state: string; n: number }>`
        SELECT rule, state, count(*)::int AS n FROM alerts
        WHERE state IN ('open', 'acknowledged') GROUP BY rule, state`.execute(db),
      sql<{ status: string; n: number; oldest_s: number | null }>`
        SELECT status, count(*)::int AS n,
               extract(epoch FROM now() - min(created_at))::float8 AS oldest_s
        FROM notification_outbox WHERE status IN ('pending', 'failed') GROUP BY status`.execute(db),
      sql<{ job: string; n: number; lag_s: number | null }>`
        SELECT 'rollups' AS job, count(*)::int AS n,
               extract(epoch FROM now() - min(marked_at))::float8 AS lag_s FROM rollup_dirty
        UNION ALL
        SELECT 'site_days', count(*)::int, extract(epoch FROM now() - min(marked_at))::float8
        FROM site_daily_dirty`.execute(db),
      listPartitions(db),
    ]);
    const today = utcDayStart(now);
    const newest = partitions.reduce((m, p) => Math.max(m, p.day), Number.NEGATIVE_INFINITY);
    const keepFrom = rawRetentionStart(now, hub.config.retention.rawDays);
    return {
      nodes: nodes.rows,
      commands: commands.rows,
      alerts: alerts.rows,
      outbox: outbox.rows,
      backlog: backlog.rows,
      partitionsAheadDays: Number.isFinite(newest) ? Math.round((newest - today) / DAY_MS) : -1,
      // A partition whose whole day lies before the retention start should have been dropped.
      overduePartitions: partitions.filter((p) => p.day + DAY_MS <= keepFrom).length,
    };
  };

  const snapshot = (): Promise<Snapshot | undefined> => {
    if (inFlight) return inFlight;
    // A read that timed out may still be queued on a blocked pool: do not pile more behind it.
    if (stuck) {
      metrics.scrapeErrors.inc({ collector: 'database' });
      return Promise.resolve(undefined);
    }
    stuck = true;
    const reading = read().finally(() => {
      stuck = false;
    });
    const value = withTimeout(reading, DB_TIMEOUT_MS, 'metrics database read')
      .catch((err) => {
        metrics.scrapeErrors.inc({ collector: 'database' });
        app.log.warn({ err }, 'metrics: database read failed; serving the previous values');
        return undefined;
      })
      .finally(() => {
        // Cleared after this turn so every collector of the same scrape still finds it.
        setImmediate(() => {
          if (inFlight === value) inFlight = undefined;
        });
      });
    inFlight = value;
    return value;
  };

  /** A gauge filled from the snapshot; on a failed read it keeps what it had. */
  const fromSnapshot = <L extends string>(
    name: string,
    help: string,
    labelNames: L[],
    fill: (g: Gauge<L>, s: Snapshot) => void,
  ) =>
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers,
      async collect() {
        const s = await snapshot();
        if (!s) return;
        this.reset();
        fill(this, s);
      },
    });

  fromSnapshot('wattfleet_nodes', 'Active nodes by status (online, offline, unknown)', ['status'], (g, s) => {
    for (const status of ['online', 'offline', 'unknown']) g.set({ status }, 0);
    for (const r of s.nodes) g.set({ status: r.status }, r.n);
  });
  fromSnapshot(
    'wattfleet_commands_open',
    'Commands not yet final (pending, delivered, running), by type and state',
    ['type', 'state'],
    (g, s) => {
      for (const r of s.commands) g.set({ type: r.type, state: r.state }, r.n);
    },
  );
  fromSnapshot(
    'wattfleet_alerts_open',
    'Alerts open or acknowledged (not resolved), by rule and state',
    ['rule', 'state'],
    (g, s) => {
      for (const r of s.alerts) g.set({ rule: r.rule, state: r.state }, r.n);
    },
  );
  fromSnapshot(
    'wattfleet_notifications_queued',
    'Notification outbox messages waiting (pending) or given up (failed)',
    ['status'],
    (g, s) => {
      for (const status of ['pending', 'failed']) g.set({ status }, 0);
      for (const r of s.outbox) g.set({ status: r.status }, r.n);
    },
  );
  fromSnapshot(
    'wattfleet_notifications_oldest_pending_seconds',
    'Age of the oldest notification still pending (0 when none)',
    [],
    (g, s) => {
      g.set(s.outbox.find((r) => r.status === 'pending')?.oldest_s ?? 0);
    },
  );
  fromSnapshot(
    'wattfleet_job_backlog',
    'Work waiting for a job: dirty rollup buckets (rollups), site days to recompute (site_days)',
    ['job'],
    (g, s) => {
      for (const r of s.backlog) g.set({ job: r.job }, r.n);
    },
  );
  fromSnapshot(
    'wattfleet_job_lag_seconds',
    'Age of the oldest work waiting for a job (0 when none): how far rollups and site days trail the data',
    ['job'],
    (g, s) => {
      for (const r of s.backlog) g.set({ job: r.job }, r.lag_s ?? 0);
    },
  );
  fromSnapshot(
    'wattfleet_partitions_ahead_days',
    'Days of sample partitions that exist beyond today (the partitions job keeps PARTITIONS_AHEAD_DAYS)',
    [],
    (g, s) => g.set(s.partitionsAheadDays),
  );
  fromSnapshot(
    'wattfleet_retention_overdue_partitions',
    'Sample partitions older than raw retention that the retention job has not dropped yet',
    [],
    (g, s) => g.set(s.overduePartitions),
  );

  // The read replica's replay lag (DATABASE_READ_URL), read on the replica itself: 0 when it has
  // replayed all it received, else the age of the last transaction it replayed (so a standby that
  // is idle because the primary is idle reads 0, not a growing number). One cheap query per scrape.
  const readDb = hub.database.readPool ? hub.database.readDb : undefined;
  if (readDb) {
    new Gauge({
      name: 'wattfleet_db_replica_lag_seconds',
      help: 'How far the read replica (DATABASE_READ_URL) trails the primary in replay, in seconds',
      registers,
      async collect() {
        try {
          const { rows } = await withTimeout(
            sql<{ lag_s: number | null }>`
              SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END AS lag_s`.execute(
              readDb,
            ),
            DB_TIMEOUT_MS,
            'replica lag read',
          );
          this.set(Math.max(0, rows[0]?.lag_s ?? 0));
        } catch (err) {
          metrics.scrapeErrors.inc({ collector: 'replica' });
          app.log.warn({ err }, 'metrics: replica lag read failed; serving the previous value');
        }
      },
    });
  }

  const pool = hub.database.pool;
  new Gauge({
    name: 'wattfleet_db_pool_connections',
    help: 'Database pool connections by state (in_use, idle)',
    labelNames: ['state'],
    registers,
    collect() {
      this.set({ state: 'idle' }, pool.idleCount);
      this.set({ state: 'in_use' }, pool.totalCount - pool.idleCount);
    },
  });
  new Gauge({
    name: 'wattfleet_db_pool_waiting',
    help: 'Queries waiting for a free database pool connection',
    registers,
    collect() {
      this.set(pool.waitingCount);
    },
  });

  // Counters the control plane keeps itself; mirrored at scrape time (reset + inc keeps them counters).
  const mirror = (name: string, help: string, labelNames: string[], read: (c: Counter<string>) => void) =>
    new Counter({
      name,
      help,
      labelNames,
      registers,
      collect() {
        if (!app.hasDecorator('controlPlane')) return;
        this.reset();
        read(this);
      },
    });
  mirror(
    'wattfleet_mqtt_messages_total',
    'MQTT messages from nodes by channel and result (received, handled, invalid, failed)',
    ['channel', 'result'],
    (c) => {
      for (const [channel, s] of Object.entries(app.controlPlane.stats)) {
        for (const result of ['received', 'handled', 'invalid', 'failed'] as const)
          c.inc({ channel, result }, s[result]);
      }
    },
  );
  mirror('wattfleet_heartbeats_received_total', 'Heartbeats received (before coalescing)', [], (c) =>
    c.inc(app.controlPlane.heartbeats.stats.received),
  );
  mirror('wattfleet_realtime_messages_sent_total', 'Messages sent to realtime WebSocket clients', [], (c) =>
    c.inc(app.controlPlane.realtime.sent),
  );
  mirror(
    'wattfleet_realtime_dropped_clients_total',
    'Realtime WebSocket clients dropped because they did not read (buffer over the bound)',
    [],
    (c) => c.inc(app.controlPlane.realtime.dropped),
  );
  new Gauge({
    name: 'wattfleet_realtime_sockets',
    help: 'Open realtime WebSocket connections',
    registers,
    collect() {
      this.set(hub.realtime?.sockets?.() ?? 0);
    },
  });
  new Gauge({
    name: 'wattfleet_mqtt_connected',
    help: '1 when the hub is connected to its MQTT broker (the embedded one counts once started)',
    registers,
    collect() {
      this.set(app.hasDecorator('controlPlane') && app.controlPlane.brokerConnected ? 1 : 0);
    },
  });
}
