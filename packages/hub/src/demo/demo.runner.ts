// Brings the demo fleet to life: 30 days of history backfilled through the real ingest path
// (deterministic batch ids, so a restart adds nothing twice), then a live reading every 10 s per
// node, fanned out to browsers like an agent's live snapshot.

import { setTimeout as sleep } from 'node:timers/promises';
import {
  createSimState,
  type SimState,
  simulateAt,
  simulatorModel,
  simulatorOrigin,
} from '@wattfleet/devices/simulator';
import type { FastifyInstance } from 'fastify';
import type { TelemetryIngest } from '../ingest/telemetry.service.ts';
import { newestSampleMs } from '../telemetry/telemetry.repository.ts';
import { markDemoNodeOnline, markDemoNodeSilent } from './demo.repository.ts';
import type { DemoNode } from './demo.seed.ts';
import { simulatorConfigFor } from './demo-fleet.ts';

const MIN = 60_000;
const DAY = 86_400_000;
const LIVE_EVERY_MS = 10_000;
/** Samples per backfill batch: small, so a portal request never queues behind a long one. */
const BACKFILL_CHUNK = 1000;

function metricsOf(snapshot: Record<string, unknown>): Record<string, number> {
  const { ts: _ts, counters, ...rest } = snapshot as { ts: number; counters: Record<string, number> };
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries({ ...rest, ...counters }))
    if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  return out;
}

interface Running {
  node: DemoNode;
  state: SimState;
}

export class DemoRunner {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly running: Running[];

  constructor(
    private readonly app: FastifyInstance,
    private readonly ingest: TelemetryIngest,
    nodes: DemoNode[],
    now = Date.now(),
  ) {
    this.running = nodes.map((node) => {
      const config = simulatorConfigFor(node.site);
      const model = simulatorModel(config, node.site);
      // The origin is fixed per calendar day, so restarts on the same day produce the same history.
      return { node, state: createSimState(model, simulatorOrigin(config, now)) };
    });
  }

  async backfill(days = 30, now = Date.now()): Promise<number> {
    let total = 0;
    const coarseFrom = Math.ceil((now - days * DAY) / (15 * MIN)) * 15 * MIN;
    const fineFrom = Math.floor((now - 6 * 3_600_000) / MIN) * MIN;
    for (const r of this.running) {
      const samples: { metric: string; ts: number; value: number }[] = [];
      const push = (ts: number) => {
        const { state, snapshot } = simulateAt(r.state, ts);
        r.state = state;
        for (const [metric, value] of Object.entries(
          metricsOf(snapshot as unknown as Record<string, unknown>),
        )) {
          samples.push({ metric, ts, value });
        }
      };
      // A restart backfills only what is missing (the history since the newest stored sample), so
      // a hub with its month of data answers at once instead of re-sending it all as duplicates.
      const newest = (await newestSampleMs(this.app.hub.db, r.node.nodeId)) ?? Number.NEGATIVE_INFINITY;
      for (let ts = coarseFrom; ts < fineFrom; ts += 15 * MIN) if (ts > newest) push(ts);
      for (let ts = fineFrom; ts < now; ts += MIN) if (ts > newest) push(ts);
      for (let i = 0; i < samples.length && !this.stopped; i += BACKFILL_CHUNK) {
        const chunk = samples.slice(i, i + BACKFILL_CHUNK);
        const started = performance.now();
        const result = await this.ingest.ingest(
          { nodeId: r.node.nodeId, siteId: r.node.siteId },
          { batchId: `demo-${r.node.nodeId}-${chunk[0]!.ts}-${chunk.length}`, samples: chunk },
        );
        total += result.stored;
        // Lower priority than the portal: rest as long as the chunk took. With the embedded
        // database (PGlite runs in this thread) a request then waits for one small chunk at most.
        await sleep(Math.min(1000, performance.now() - started));
      }
      if (r.node.site.silent) await this.markSilent(r.node, now);
    }
    return total;
  }

  start(): void {
    const tick = async () => {
      if (this.stopped) return;
      const now = Date.now();
      for (const r of this.running) {
        if (r.node.site.silent || this.stopped) continue;
        try {
          await this.live(r, now);
        } catch (err) {
          this.app.log.warn({ err, node: r.node.nodeId }, 'demo node tick failed');
        }
      }
      if (!this.stopped) this.timer = setTimeout(tick, LIVE_EVERY_MS);
    };
    this.timer = setTimeout(tick, 0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async live(r: Running, now: number): Promise<void> {
    const { state, snapshot } = simulateAt(r.state, now);
    r.state = state;
    const values = metricsOf(snapshot as unknown as Record<string, unknown>);
    const ref = { nodeId: r.node.nodeId, siteId: r.node.siteId };
    await this.ingest.ingest(ref, {
      batchId: `demo-live-${r.node.nodeId}-${now}`,
      samples: Object.entries(values).map(([metric, value]) => ({ metric, ts: now, value })),
    });
    const hub = this.app.hub;
    const cameOnline = await markDemoNodeOnline(hub.db, r.node.nodeId, new Date(now));
    if (cameOnline) hub.bus.emitEvent('node.status', { ...ref, status: 'online', reason: 'demo' });
    hub.bus.emitEvent('node.live', { ...ref, snapshot: { ts: now, values } });
  }

  private async markSilent(node: DemoNode, now: number): Promise<void> {
    await markDemoNodeSilent(this.app.hub.db, node.nodeId, new Date(now - 2 * 3_600_000));
  }
}
