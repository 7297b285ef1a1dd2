// Hub-wide switches of the unified namespace export, merged into HubConfig under `uns`. The export
// still needs each org's opt-in (PUT /api/v1/orgs/{id}/uns); UNS_EXPORT=0 turns it off for the
// whole hub whatever the orgs chose (a hub that shares its broker with nothing but its nodes).
import type { HubConfig } from '../config.ts';

export interface UnsConfig {
  /** UNS_EXPORT (default on): whether this hub publishes at all. */
  enabled: boolean;
  /** UNS_QUEUE_LIMIT: series updates waiting to be published; beyond it the oldest are dropped. */
  queueLimit: number;
  /** How long a series' topic (org slug, placement) is trusted before it is looked up again. */
  placeCacheMs: number;
}

declare module '../config.ts' {
  interface HubConfig {
    uns?: Partial<UnsConfig>;
  }
}

export function unsConfig(config: HubConfig, env: NodeJS.ProcessEnv = process.env): UnsConfig {
  const limit = Number(env.UNS_QUEUE_LIMIT ?? 10_000);
  if (!Number.isInteger(limit) || limit < 1)
    throw new Error(`UNS_QUEUE_LIMIT must be a positive integer, got "${env.UNS_QUEUE_LIMIT}"`);
  return {
    enabled: env.UNS_EXPORT !== '0',
    queueLimit: limit,
    placeCacheMs: 30_000,
    ...config.uns,
  };
}
