// Node liveness. Heartbeats (NodeStatus on nodes/{id}/status) are buffered in memory and written
// about once a second in ONE statement for every node heard from (UPDATE … FROM unnest), so a
// fleet of 100 k nodes costs one transaction per second, not 100 k. Offline comes from three
// places: the node's own offline status (clean disconnect), its last will, and silence longer than
// the timeout (a sweep, run by one hub at a time under an advisory lock).
import type { NodeStatus } from '@wattfleet/protocol';
import type { HubContext } from '../context.ts';
import { runExclusive } from '../jobs/lock.ts';
import {
  applyHeartbeatBatch,
  insertClockEvent,
  markNodeOffline,
  markSilentOffline,
} from './heartbeat.repository.ts';

/** SQLSTATE class 22 (data exception): this statement's values are at fault, not the database. */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && code.startsWith('22');
}

export type OfflineReason = 'clean_disconnect' | 'last_will' | 'silence';

declare module '../context.ts' {
  interface HubEvents {
    /** Raised when a node's clock crosses the drift bound (drifting) and when it is back (not). */
    'node.clock_drift': { nodeId: string; siteId: string; offsetMs: number; drifting: boolean };
  }
}

interface Pending {
  status: NodeStatus;
  /** The status as received (valid JSON), stored as is instead of serialised again. */
  json: string | undefined;
  receivedAt: number;
}

export interface HeartbeatOptions {
  offlineAfterS: number;
  clockDriftMs: number;
  /** Called with the nodes that just came (back) online, e.g. to hand them their pending commands. */
  onOnline: (nodes: { nodeId: string; siteId: string }[]) => void;
  log: { error: (obj: object, msg: string) => void; warn: (obj: object, msg: string) => void };
}

export class HeartbeatService {
  private buffer = new Map<string, Pending>();
  private flushing: Promise<void> | undefined;
  /** Counters for /metrics and tests. */
  readonly stats = { received: 0, flushes: 0, rowsWritten: 0, dropped: 0 };

  constructor(
    private readonly hub: HubContext,
    private readonly opts: HeartbeatOptions,
  ) {}

  /** Keeps only the newest heartbeat per node until the next flush. */
  record(nodeId: string, status: NodeStatus, json?: string, receivedAt = Date.now()): void {
    this.stats.received++;
    this.buffer.set(nodeId, { status, json, receivedAt });
  }

  /** Writes the buffered heartbeats; concurrent calls share one run. */
  flush(): Promise<void> {
    if (!this.flushing) {
      this.flushing = this.writeBuffered().finally(() => {
        this.flushing = undefined;
      });
    }
    return this.flushing;
  }

  private async writeBuffered(): Promise<void> {
    if (this.buffer.size === 0) return;
    const batch = this.buffer;
    this.buffer = new Map();
    // Sorted ids: hubs flushing overlapping sets lock rows in the same order (no deadlock).
    const ids = [...batch.keys()].sort();
    try {
      await this.writeIsolated(ids, batch);
    } catch (err) {
      // Not the data (the database is unreachable, say): keep what no newer heartbeat replaced
      // for the next flush, so a dropped connection costs a delay, not the fleet's last_seen.
      for (const id of ids) if (!this.buffer.has(id)) this.buffer.set(id, batch.get(id)!);
      throw err;
    }
  }

  /**
   * Writes `ids` in one statement. When the database refuses the data itself (a data exception,
   * class 22: an impossible value that got past validation), the set is halved and each half
   * written on its own, down to the one heartbeat at fault, which is dropped and logged: one
   * hostile node costs a few extra statements, never the whole fleet's flush.
   */
  private async writeIsolated(ids: string[], batch: Map<string, Pending>): Promise<void> {
    try {
      await this.writeRows(ids, batch);
    } catch (err) {
      if (!isDataError(err)) throw err;
      if (ids.length === 1) {
        this.stats.dropped++;
        this.opts.log.warn({ err, nodeId: ids[0] }, 'heartbeat refused by the database; dropped');
        return;
      }
      const mid = ids.length >> 1;
      await this.writeIsolated(ids.slice(0, mid), batch);
      await this.writeIsolated(ids.slice(mid), batch);
    }
  }

  private async writeRows(ids: string[], batch: Map<string, Pending>): Promise<void> {
    // One JSON document for the whole flush: the statuses are embedded as received (already
    // validated JSON), so a flush of 10 k heartbeats is one string join, not 7 arrays to escape.
    const parts: string[] = new Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const p = batch.get(id)!;
      // Clamped to int4: a node whose clock is decades off still fits the column.
      const offset = Math.max(
        -2_000_000_000,
        Math.min(2_000_000_000, Math.round(p.status.clock - p.receivedAt)),
      );
      parts[i] =
        `{"id":"${id}","seen":${p.receivedAt},"offset":${offset},"status":${p.json ?? JSON.stringify(p.status)}}`;
    }
    const doc = `[${parts.join(',')}]`;
    // Only the rows that changed state come back: a node coming (back) online, its clock
    // crossing the drift bound either way, or its outbox having dropped more samples. At 10 k
    // heartbeats/s that is a handful, not 10 k rows.
    const bound = this.opts.clockDriftMs;
    const rows = await applyHeartbeatBatch(this.hub.db, doc, bound);
    this.stats.flushes++;
    this.stats.rowsWritten += ids.length;
    this.hub.metrics.heartbeatsApplied.inc(ids.length);
    this.hub.metrics.heartbeatsLate.inc(rows.filter((r) => r.was === 'offline').length);

    const cameOnline: { nodeId: string; siteId: string }[] = [];
    for (const r of rows) {
      if (Number(r.dropped) > 0) {
        this.hub.bus.emitEvent('node.events', { nodeId: r.id, siteId: r.site_id, count: 1 });
      }
      if (r.was !== 'online') {
        cameOnline.push({ nodeId: r.id, siteId: r.site_id });
        this.hub.bus.emitEvent('node.status', {
          nodeId: r.id,
          siteId: r.site_id,
          status: 'online',
          reason: 'heartbeat',
        });
      }
      const drifting = Math.abs(r.offset) > bound;
      const wasDrifting = r.old_offset !== null && Math.abs(r.old_offset) > bound;
      if (drifting !== wasDrifting && (drifting || r.old_offset !== null)) {
        await this.recordDrift(r.id, r.site_id, r.offset, drifting);
      }
    }
    if (cameOnline.length) this.opts.onOnline(cameOnline);
  }

  /** A node event (kind node.clock_drift) for alert rules and history, plus a bus event. */
  private async recordDrift(nodeId: string, siteId: string, offsetMs: number, drifting: boolean) {
    const now = new Date();
    await insertClockEvent(this.hub.db, { nodeId, siteId, now, offsetMs, drifting });
    this.hub.bus.emitEvent('node.clock_drift', { nodeId, siteId, offsetMs, drifting });
  }

  /** The node said it is going (clean disconnect) or the broker published its last will. */
  async markOffline(nodeId: string, reason: OfflineReason): Promise<void> {
    // A heartbeat still in the buffer is older than this message; writing it would revive the node.
    this.buffer.delete(nodeId);
    const row = await markNodeOffline(this.hub.db, nodeId, reason);
    if (row)
      this.hub.bus.emitEvent('node.status', { nodeId, siteId: row.site_id, status: 'offline', reason });
  }

  /** Marks silent nodes offline. Runs on one hub at a time; returns how many went offline. */
  async sweep(now = Date.now()): Promise<number> {
    const result = await runExclusive(this.hub.database, 'heartbeat.sweep', async () => {
      const cutoff = new Date(now - this.opts.offlineAfterS * 1000);
      const rows = await markSilentOffline(this.hub.db, cutoff, new Date(now));
      for (const r of rows) {
        this.hub.bus.emitEvent('node.status', {
          nodeId: r.id,
          siteId: r.site_id,
          status: 'offline',
          reason: 'silence',
        });
      }
      return rows.length;
    });
    return result.ran ? result.value : 0;
  }
}
