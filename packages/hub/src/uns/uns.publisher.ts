// The unified namespace publisher: after a telemetry batch commits, the newest sample of each of
// its series goes out retained (QoS 1) on `wattfleet/v1/{org}/{site}/{area}/{line}/{equipment}/
// {metric}` for orgs that opted in. Ingest only hands over what committed ('telemetry.latest' is
// emitted after the transaction) and never waits: updates wait in a bounded queue coalesced per
// series (a newer sample replaces a waiting older one), the oldest dropped and counted when it is
// full. One runner works the queue and the occasional re-layout task (equipment moved, org opted
// in or out, slug changed) in order, so a clear of an old topic never overtakes a publish on it.
//
// Topics of a series are cached for `placeCacheMs`. When the topic of a series changes (its
// equipment moved, its site was renamed, its org changed slug) the old retained topic is cleared
// with an empty retained message before the value goes out on the new one: at once for changes
// made through this hub (events), within the cache time for changes made elsewhere.
import type { FastifyBaseLogger } from 'fastify';
import { Counter, Gauge } from 'prom-client';
import type { HubContext, HubEvents } from '../context.ts';
import type { PublishOptions } from '../mqtt/broker.ts';
import type { UnsConfig } from './config.ts';
import {
  latestSamples,
  orgSites,
  type SeriesPlace,
  seriesOfEquipment,
  seriesOfOrg,
  seriesPlaces,
  slugsOf,
} from './uns.repository.ts';
import {
  equipmentSlug,
  type Quality,
  qualityOf,
  siteSlugs,
  type UnsPayload,
  unitOf,
  unsTopic,
} from './uns.topics.ts';

export type Publish = (topic: string, payload: string, opts: PublishOptions) => Promise<boolean>;

interface Update {
  seriesId: number;
  metric: string;
  ts: number;
  value: number;
  quality: Quality;
}

interface Place {
  orgId: string;
  enabled: boolean;
  /** undefined while the org has no UNS settings (never opted in): nothing to name it by. */
  topic: string | undefined;
  row: SeriesPlace;
  siteSlug: string;
  at: number;
}

const CHUNK = 500;
const RETAINED: PublishOptions = { qos: 1, retain: true };
const DROP_LOG_MS = 10_000;

export class UnsPublisher {
  private readonly queue = new Map<number, Update>();
  private readonly tasks: (() => Promise<void>)[] = [];
  private readonly places = new Map<number, Place>();
  private readonly sites = new Map<string, { slugs: Map<string, string>; at: number }>();
  /** The topic each series was last published on by this hub, and the time of that sample. */
  private readonly lastTopic = new Map<number, string>();
  private readonly lastTs = new Map<number, number>();
  private running: Promise<void> | undefined;
  private closed = false;
  private droppedSinceLog = 0;
  private lastDropLog = 0;
  private readonly offs: (() => void)[] = [];
  readonly published: Counter;
  readonly dropped: Counter<'reason'>;

  constructor(
    private readonly hub: HubContext,
    private readonly config: UnsConfig,
    private readonly publish: Publish,
    private readonly log: FastifyBaseLogger,
  ) {
    const registers = [hub.metrics.registry];
    this.published = new Counter({
      name: 'wattfleet_uns_published_total',
      help: 'Retained unified-namespace messages published (values and clears of moved topics)',
      registers,
    });
    this.dropped = new Counter({
      name: 'wattfleet_uns_dropped_total',
      help: 'Unified-namespace updates not published: queue_full (oldest dropped), no_broker, failed',
      labelNames: ['reason'],
      registers,
    });
    const queue = this.queue;
    new Gauge({
      name: 'wattfleet_uns_queue_length',
      help: 'Series updates waiting to be published on the unified namespace',
      registers,
      collect() {
        this.set(queue.size);
      },
    });
  }

  start(): void {
    const { bus } = this.hub;
    this.offs.push(
      bus.onEvent('telemetry.latest', (e) => this.enqueue(e)),
      bus.onEvent('equipment.placed', (e) => this.schedule(() => this.onPlaced(e))),
      bus.onEvent('uns.changed', (e) => {
        if (e.revokedCredentialId) return;
        this.schedule(() => this.onOrgChanged(e));
      }),
    );
  }

  /** Waits for queued work to finish (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async close(): Promise<void> {
    for (const off of this.offs.splice(0)) off();
    this.closed = true;
    await this.running?.catch(() => {});
  }

  get queued(): number {
    return this.queue.size;
  }

  /** Called synchronously from ingest's event: bounded work, no await, never throws. */
  enqueue(e: HubEvents['telemetry.latest']): void {
    if (!this.config.enabled || this.closed) return;
    for (const s of e.latest) {
      const waiting = this.queue.get(s.seriesId);
      if (waiting && waiting.ts > s.ts) continue;
      this.queue.delete(s.seriesId);
      this.queue.set(s.seriesId, {
        seriesId: s.seriesId,
        metric: s.metric,
        ts: s.ts,
        value: s.value,
        quality: qualityOf(e.findings, s.equipment, s.metric, s.ts),
      });
    }
    let dropped = 0;
    while (this.queue.size > this.config.queueLimit) {
      const oldest = this.queue.keys().next().value as number;
      this.queue.delete(oldest);
      dropped++;
    }
    if (dropped > 0) this.noteDropped(dropped);
    this.kick();
  }

  private noteDropped(n: number): void {
    this.dropped.inc({ reason: 'queue_full' }, n);
    this.droppedSinceLog += n;
    const now = Date.now();
    if (now - this.lastDropLog >= DROP_LOG_MS) {
      this.log.warn(
        { dropped: this.droppedSinceLog, limit: this.config.queueLimit },
        'unified namespace queue full: oldest updates dropped (UNS_QUEUE_LIMIT)',
      );
      this.lastDropLog = now;
      this.droppedSinceLog = 0;
    }
  }

  private schedule(task: () => Promise<void>): void {
    if (!this.config.enabled || this.closed) return;
    this.tasks.push(task);
    this.kick();
  }

  private kick(): void {
    if (this.running) return;
    this.running = this.run().finally(() => {
      this.running = undefined;
      if (!this.closed && (this.queue.size > 0 || this.tasks.length > 0)) this.kick();
    });
  }

  private async run(): Promise<void> {
    // Yield first: the ingest call that enqueued returns before any export work starts.
    await new Promise((r) => setImmediate(r));
    while (!this.closed) {
      const task = this.tasks.shift();
      if (task) {
        await task().catch((err) => this.log.warn({ err }, 'unified namespace re-layout failed'));
        continue;
      }
      if (this.queue.size === 0) return;
      const chunk: Update[] = [];
      for (const [id, u] of this.queue) {
        chunk.push(u);
        this.queue.delete(id);
        if (chunk.length >= CHUNK) break;
      }
      await this.publishUpdates(chunk).catch((err) => {
        this.dropped.inc({ reason: 'failed' }, chunk.length);
        this.log.warn({ err, updates: chunk.length }, 'unified namespace publish failed');
      });
    }
  }

  private async publishUpdates(updates: Update[]): Promise<void> {
    const places = await this.resolve(updates.map((u) => u.seriesId));
    await Promise.all(
      updates.map(async (u) => {
        const place = places.get(u.seriesId);
        const last = this.lastTs.get(u.seriesId);
        // Late data (an older sample committed after a newer one) must not replace the retained value.
        if (last !== undefined && u.ts < last && place?.topic === this.lastTopic.get(u.seriesId)) return;
        await this.publishOne(u, place);
      }),
    );
  }

  /** Clears the series' previous topic if it moved, then publishes the value (or only clears). */
  private async publishOne(u: Update, place: Place | undefined): Promise<void> {
    const target = place?.enabled ? place.topic : undefined;
    const previous = this.lastTopic.get(u.seriesId);
    if (previous && previous !== target) {
      await this.send(previous, '');
      this.lastTopic.delete(u.seriesId);
    }
    if (!target) return;
    const payload: UnsPayload = {
      value: u.value,
      unit: unitOf(u.metric),
      ts: new Date(u.ts).toISOString(),
      quality: u.quality,
    };
    if (await this.send(target, JSON.stringify(payload))) {
      this.lastTopic.set(u.seriesId, target);
      this.lastTs.set(u.seriesId, u.ts);
    }
  }

  private async send(topic: string, payload: string): Promise<boolean> {
    try {
      if (!(await this.publish(topic, payload, RETAINED))) {
        this.dropped.inc({ reason: 'no_broker' });
        return false;
      }
      this.published.inc();
      return true;
    } catch (err) {
      this.dropped.inc({ reason: 'failed' });
      this.log.warn({ err, topic }, 'unified namespace publish failed');
      return false;
    }
  }

  /** Topics of these series, from the cache where fresh, else looked up in one query. */
  private async resolve(ids: number[], fresh = false): Promise<Map<number, Place>> {
    const now = Date.now();
    const out = new Map<number, Place>();
    const missing: number[] = [];
    for (const id of ids) {
      const p = this.places.get(id);
      if (p && !fresh && now - p.at < this.config.placeCacheMs) out.set(id, p);
      else missing.push(id);
    }
    if (missing.length === 0) return out;
    const rows = await seriesPlaces(this.hub.db, missing);
    for (const r of rows) {
      const siteSlug = (await this.siteSlugsOf(r.org_id, fresh)).get(r.site_id) ?? r.site_id;
      const place: Place = {
        orgId: r.org_id,
        enabled: !!r.enabled,
        topic: r.org_slug ? topicOf(r, r.org_slug, siteSlug, r.area_slug, r.line_slug) : undefined,
        row: r,
        siteSlug,
        at: now,
      };
      this.places.set(r.series_id, place);
      out.set(r.series_id, place);
    }
    return out;
  }

  private async siteSlugsOf(orgId: string, fresh: boolean): Promise<Map<string, string>> {
    const hit = this.sites.get(orgId);
    if (hit && !fresh && Date.now() - hit.at < this.config.placeCacheMs) return hit.slugs;
    const slugs = siteSlugs(await orgSites(this.hub.db, orgId));
    this.sites.set(orgId, { slugs, at: Date.now() });
    return slugs;
  }

  /** An equipment moved: clear its series' topics under the old area/line, republish under the new. */
  private async onPlaced(e: HubEvents['equipment.placed']): Promise<void> {
    const ids = await seriesOfEquipment(this.hub.db, e.equipmentId);
    if (ids.length === 0) return;
    const places = await this.resolve(ids, true);
    const old = await slugsOf(this.hub.db, e.from.areaId, e.from.lineId);
    for (const id of ids) {
      const p = places.get(id);
      if (!p?.enabled || !p.row.org_slug) continue;
      const before = topicOf(p.row, p.row.org_slug, p.siteSlug, old.areaSlug, old.lineSlug);
      // Known to this hub or not (another hub published it, or this one restarted): clear it.
      if (before !== p.topic) {
        await this.send(before, '');
        if (this.lastTopic.get(id) === before) this.lastTopic.delete(id);
      }
    }
    await this.republish(ids, places);
  }

  /** Opt-in, opt-out or a new slug: clear what the org had out, publish what it has now. */
  private async onOrgChanged(e: HubEvents['uns.changed']): Promise<void> {
    const ids = await seriesOfOrg(this.hub.db, e.orgId);
    this.sites.delete(e.orgId);
    if (ids.length === 0) return;
    const places = await this.resolve(ids, true);
    if (e.before?.enabled) {
      for (const id of ids) {
        const p = places.get(id);
        if (!p) continue;
        const before = topicOf(p.row, e.before.slug, p.siteSlug, p.row.area_slug, p.row.line_slug);
        if (!p.enabled || before !== p.topic) {
          await this.send(before, '');
          if (this.lastTopic.get(id) === before) this.lastTopic.delete(id);
        }
      }
    }
    await this.republish(ids, places);
  }

  /** The stored last value of each series, published on its current topic (when enabled). */
  private async republish(ids: number[], places: Map<number, Place>): Promise<void> {
    const enabled = ids.filter((id) => places.get(id)?.enabled);
    for (let i = 0; i < enabled.length; i += CHUNK) {
      const latest = await latestSamples(this.hub.db, enabled.slice(i, i + CHUNK));
      await Promise.all(
        latest.map((l) => {
          // A newer update still waiting in the queue goes out after this one anyway.
          const place = places.get(l.seriesId)!;
          return this.publishOne(
            {
              seriesId: l.seriesId,
              metric: place.row.metric,
              ts: l.ts.getTime(),
              value: l.value,
              quality: l.bad ? 'bad' : 'good',
            },
            place,
          );
        }),
      );
    }
  }
}

function topicOf(
  r: SeriesPlace,
  orgSlug: string,
  siteSlug: string,
  areaSlug: string | null,
  lineSlug: string | null,
): string {
  return unsTopic({
    orgSlug,
    siteSlug,
    // A line without its area cannot be: an unplaced area also unplaces the line level.
    areaSlug,
    lineSlug: areaSlug ? lineSlug : null,
    equipmentSlug: equipmentSlug(r.equipment, r.node_id, r.shared),
    metric: r.metric,
  });
}
