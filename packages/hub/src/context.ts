// What every route, service and job of one hub instance shares. Decorated on the Fastify root
// as `app.hub`; nothing here is module-global, so several hubs can live in one process (tests).
import { EventEmitter } from 'node:events';
import type { Kysely } from 'kysely';
import type { AccessMode, Actor } from './auth/actor.ts';
import type { HubConfig } from './config.ts';
import type { HubMetrics } from './observability/metrics.ts';
import type { Database } from './storage/database.ts';
import type { DB } from './storage/schema.ts';

/** Site ids the actor may see, or 'all' for fleet admins. */
export type SiteScopeResolver = (db: Kysely<DB>, actor: Actor, mode: AccessMode) => Promise<'all' | string[]>;

/** In-process events (ingest done, node status, command update) for realtime fan-out and alerts. */
export interface HubEvents {
  'telemetry.ingested': { nodeId: string; siteId: string; count: number; fromMs: number; toMs: number };
  'node.status': { nodeId: string; siteId: string; status: string; reason?: string };
  'node.live': { nodeId: string; siteId: string; snapshot: unknown };
  'command.updated': { commandId: string; nodeId: string; siteId: string; state: string };
  'alert.updated': { alertId: string; siteId: string | null; state: string };
  /** batchId: the stored batch (readers fetch its events); absent from older bridged copies. */
  'node.events': { nodeId: string; siteId: string; count: number; batchId?: string };
  /** A node's equipment inventory changed the registry (kinds, so data contracts, may differ). */
  'equipment.changed': { nodeId: string; siteId: string };
  /**
   * After a telemetry batch committed (never for one that rolled back or was a duplicate): the
   * newest sample of each series in it, and the batch's data-contract findings. Emitted only while
   * someone listens (the unified namespace export), so ingest pays nothing otherwise.
   */
  'telemetry.latest': {
    nodeId: string;
    siteId: string;
    latest: { seriesId: number; equipment: string; metric: string; ts: number; value: number }[];
    findings: { equipment: string; metric: string; rule: string; lastTs: number }[];
  };
}

export class HubBus extends EventEmitter {
  emitEvent<K extends keyof HubEvents>(name: K, payload: HubEvents[K]): void {
    this.emit(name, payload);
  }
  onEvent<K extends keyof HubEvents>(name: K, listener: (payload: HubEvents[K]) => void): () => void {
    this.on(name, listener);
    return () => this.off(name, listener);
  }
}

export interface HubContext {
  config: HubConfig;
  database: Database;
  db: Kysely<DB>;
  bus: HubBus;
  /** This hub's Prometheus registry and instruments (observability/metrics.ts). */
  metrics: HubMetrics;
  /** Replaceable by the identity module (grants, time-limited access). */
  siteScope: SiteScopeResolver;
  /**
   * Tests only: switches off the code-level site checks (assertSiteAccess, appSiteScope) so a test
   * can prove that row-level security alone keeps tenants apart. Never set outside tests.
   */
  testOnlyBypassAppScoping?: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    hub: HubContext;
  }
}
