// Telemetry ingest, shared by HTTP and MQTT: validate → resolve series → one transaction that
// records the batch id, writes the samples and marks the rollup buckets they touch (shared with
// concurrent batches, see telemetry-writer.ts). A batch is thus stored completely or not at all,
// and exactly once however often it is resent.

import { checkContracts } from '@wattfleet/devices';
import type { HubContext } from '../context.ts';
import { ensurePartitionsForRange, rawRetentionStart } from '../storage/partitions.ts';
import { localDate, localDayBounds, localDayStart } from '../time/zoned.ts';
import { validateTelemetry } from './batch-validation.ts';
import { EquipmentContracts } from './data-quality.ts';
import { siteTimezone, touchLastSeen } from './ingest.repository.ts';
import { SeriesCache } from './series-cache.ts';
import { TelemetryWriter } from './telemetry-writer.ts';

export interface IngestResult {
  status: 'stored' | 'duplicate';
  batchId: string;
  stored: number;
}

export interface NodeRef {
  nodeId: string;
  siteId: string;
}

const HOUR_MS = 3_600_000;
const SLOT_MS = 15 * 60_000;

export class TelemetryIngest {
  readonly series: SeriesCache;
  /** Equipment kinds → data contracts per node, cached (data-quality.ts). */
  readonly contracts: EquipmentContracts;
  private readonly timezones = new Map<string, { tz: string; at: number }>();

  private readonly writer: TelemetryWriter;

  constructor(private readonly hub: HubContext) {
    this.series = new SeriesCache(hub);
    this.contracts = new EquipmentContracts(hub.db);
    // This hub applied a new inventory: its contracts count at once (other hubs within the TTL).
    hub.bus.onEvent('equipment.changed', (e) => this.contracts.invalidate(e.nodeId));
    this.writer = new TelemetryWriter(hub.database, {
      writers: hub.config.ingest.writers,
      maxGroupSamples: hub.config.ingest.groupSamples,
      onGroup: (batches, samples) => {
        hub.metrics.groupBatches.observe(batches);
        hub.metrics.groupSamples.observe(samples);
      },
    });
  }

  private readonly lastSeenWritten = new Map<string, number>();

  /** Data arriving is a sign of life too; written at most every 30 s per node to spare the row. */
  private async touchLastSeen(nodeId: string, now: number): Promise<void> {
    const last = this.lastSeenWritten.get(nodeId) ?? 0;
    if (now - last < 30_000) return;
    this.lastSeenWritten.set(nodeId, now);
    await touchLastSeen(this.hub.db, nodeId, new Date(now));
  }

  private async siteTimezone(siteId: string): Promise<string> {
    const hit = this.timezones.get(siteId);
    if (hit && Date.now() - hit.at < 60_000) return hit.tz;
    const tz = (await siteTimezone(this.hub.db, siteId)) ?? 'UTC';
    this.timezones.set(siteId, { tz, at: Date.now() });
    return tz;
  }

  /** `body` is untrusted: HTTP and MQTT hand it over as parsed, and it is validated here. */
  async ingest(
    node: NodeRef,
    body: unknown,
    now = Date.now(),
    /** touchLastSeen false: the caller marks the node seen itself (a vendor poll, with its state). */
    opts: { touchLastSeen?: boolean } = {},
  ): Promise<IngestResult> {
    const { config } = this.hub;
    const samples = validateTelemetry(body, now, rawRetentionStart(now, config.retention.rawDays));
    const batch = body as { batchId: string; seq?: number };
    // Distinct (equipment, metric) pairs, found without building a key string per sample.
    const seen = new Map<string, Set<string>>();
    const pairs: [string, string][] = [];
    for (const s of samples) {
      let metrics = seen.get(s.equipment);
      if (!metrics) {
        metrics = new Set();
        seen.set(s.equipment, metrics);
      }
      if (!metrics.has(s.metric)) {
        metrics.add(s.metric);
        pairs.push([s.equipment, s.metric]);
      }
    }
    const seriesByKey = await this.series.resolve(node.nodeId, node.siteId, pairs);
    const idByEquipment = new Map<string, Map<string, number>>();
    for (const [equipment, metric] of pairs) {
      let ids = idByEquipment.get(equipment);
      if (!ids) {
        ids = new Map();
        idByEquipment.set(equipment, ids);
      }
      ids.set(metric, seriesByKey.get(`${equipment}\u0000${metric}`)!);
    }
    const tz = await this.siteTimezone(node.siteId);

    const n = samples.length;
    const rows = { seriesIds: new Array<number>(n), ts: new Array<number>(n), values: new Array<number>(n) };
    let minTs = Number.POSITIVE_INFINITY;
    let maxTs = Number.NEGATIVE_INFINITY;
    const hourly = new Set<string>();
    const daily = new Set<string>();
    // Local dates whose site analytics must be recomputed (see analytics/site-day.service.ts).
    const siteDays = new Set<string>();
    // Every zone offset is a multiple of 15 min, so a 15-min slot never straddles local midnight.
    const daysBySlot = new Map<number, [number, number]>();
    const gapMs = config.maxIntegrationGapS * 1000;
    // Last hour / day bucket marked per series: consecutive samples of a series mostly share it,
    // so keys are built once per bucket, not once per sample.
    const last = { h: new Map<number, number>(), H: new Map(), d: new Map(), D: new Map() };
    // Index of the newest sample per series, kept only while the unified namespace listens.
    const newest = this.hub.bus.listenerCount('telemetry.latest') > 0 ? new Map<number, number>() : undefined;
    const mark = (set: Set<string>, lastOf: Map<number, number>, id: number, bucket: number) => {
      if (lastOf.get(id) === bucket) return;
      lastOf.set(id, bucket);
      set.add(`${id}:${bucket}`);
    };
    for (let i = 0; i < n; i++) {
      const s = samples[i]!;
      const id = idByEquipment.get(s.equipment)!.get(s.metric)!;
      rows.seriesIds[i] = id;
      rows.ts[i] = s.ts;
      rows.values[i] = s.value;
      if (newest) {
        const j = newest.get(id);
        if (j === undefined || samples[j]!.ts <= s.ts) newest.set(id, i);
      }
      if (s.ts < minTs) minTs = s.ts;
      if (s.ts > maxTs) maxTs = s.ts;
      // A sample changes its own bucket and, through the interval that starts at it, maybe the next.
      // The hours (and days) a longer interval spans — also to a neighbour stored by another batch,
      // which this batch cannot see — are widened to by the rollup job (rollups/spans.ts).
      const hour = Math.floor(s.ts / HOUR_MS) * HOUR_MS;
      mark(hourly, last.h, id, hour);
      if (s.ts + gapMs > hour + HOUR_MS) mark(hourly, last.H, id, hour + HOUR_MS);
      const slot = Math.floor(s.ts / SLOT_MS);
      let day = daysBySlot.get(slot);
      if (!day) {
        const start = localDayStart(s.ts, tz);
        day = [start, localDayBounds(localDate(s.ts, tz), tz)[1]];
        daysBySlot.set(slot, day);
        // A sample holds until the next one: data just after midnight also touches the day before.
        siteDays.add(localDate(slot * SLOT_MS, tz)).add(localDate(slot * SLOT_MS - 1, tz));
      }
      mark(daily, last.d, id, day[0]);
      if (s.ts + gapMs > day[1]) mark(daily, last.D, id, day[1]);
    }
    await ensurePartitionsForRange(this.hub.db, minTs, maxTs);
    // Data contracts of the node's equipment: findings only, no sample is dropped for them.
    const contracts = await this.contracts.forNode(node.nodeId);
    const findings = contracts.size > 0 ? checkContracts(samples, (e) => contracts.get(e)) : undefined;

    const stored = await this.writer.write({
      nodeId: node.nodeId,
      batchId: batch.batchId,
      rows,
      hourly,
      daily,
      siteId: node.siteId,
      siteDays,
      minTs,
      ...(batch.seq !== undefined ? { seq: batch.seq } : {}),
      ...(findings && findings.length > 0 ? { findings } : {}),
    });
    if (stored === 'duplicate') return { status: 'duplicate', batchId: batch.batchId, stored: 0 };
    if (opts.touchLastSeen !== false) await this.touchLastSeen(node.nodeId, now);
    this.hub.bus.emitEvent('telemetry.ingested', { ...node, count: stored, fromMs: minTs, toMs: maxTs });
    if (newest) {
      // Committed: only now may the export see it (a rolled-back batch threw above).
      const latest = [...newest].map(([seriesId, i]) => {
        const s = samples[i]!;
        return { seriesId, equipment: s.equipment, metric: s.metric, ts: s.ts, value: s.value };
      });
      this.hub.bus.emitEvent('telemetry.latest', { ...node, latest, findings: findings ?? [] });
    }
    return { status: 'stored', batchId: batch.batchId, stored };
  }
}
