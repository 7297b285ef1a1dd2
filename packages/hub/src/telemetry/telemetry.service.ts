// Reading telemetry back as users see it: access checks, the range rule, and the resolution (raw,
// hourly or daily) chosen so no series exceeds ~2,000 points. Routes stay thin; SQL is in
// telemetry.repository.ts, and every read runs as the tenant (row-level security again).
import { WattfleetError } from '@wattfleet/protocol';
import { DEFAULT_INTERVAL_S, roundLearnedIntervalS } from '../analytics/completeness.service.ts';
import { assertNodeAccess, assertSiteAccess } from '../auth/access.ts';
import type { Actor } from '../auth/actor.ts';
import type { HubContext } from '../context.ts';
import { withTenantRead } from '../identity/tenant.ts';
import {
  chooseResolution,
  latestValues,
  learnedNodeIntervals,
  nodeIntervals,
  querySeries,
} from './telemetry.repository.ts';
import type { Latest, Resolution, TelemetryAnswer, TelemetryQuery } from './telemetry.schema.ts';

export const MAX_POINTS = 2000;

export class TelemetryService {
  constructor(private readonly hub: HubContext) {}

  async site(actor: Actor, siteId: string, q: TelemetryQuery): Promise<TelemetryAnswer> {
    const scope = await assertSiteAccess(this.hub, actor, siteId);
    const from = Date.parse(q.from);
    const to = Date.parse(q.to);
    if (!(to > from)) {
      throw new WattfleetError('WF_VALIDATION', undefined, [
        { path: '/querystring/to', message: '"to" must be after "from"' },
      ]);
    }
    const metrics = q.metrics ? q.metrics.split(',').filter(Boolean) : undefined;
    // Row-level security again under the tenant's role: the data queries themselves cannot leak.
    // Read-only and allowed to lag (charts, the CSV export): the read replica when configured.
    return withTenantRead(
      this.hub,
      actor,
      async (db) => {
        let resolution: Resolution;
        if (q.step && q.step !== 'auto') resolution = q.step;
        else {
          // The finest interval among the nodes read, each node's own: the one it reports, or the
          // one its data shows (as completeness judges it), a default only when neither is known.
          const nodes = await nodeIntervals(db, siteId, q.node);
          const unreported = nodes.filter((n) => n.sample_interval_s === null).map((n) => n.id);
          const learned = await learnedNodeIntervals(db, { nodeIds: unreported, metrics, from, to });
          const known = nodes
            .map((n) => n.sample_interval_s ?? roundLearnedIntervalS(learned.get(n.id) ?? null))
            .filter((s): s is number => s !== null);
          const intervalS = known.length ? Math.min(...known) : DEFAULT_INTERVAL_S;
          resolution = chooseResolution(from, to, intervalS, MAX_POINTS);
        }
        const series = await querySeries(db, {
          siteId,
          nodeId: q.node,
          metrics,
          from,
          to,
          resolution,
          maxPoints: MAX_POINTS,
        });
        return {
          siteId,
          from: new Date(from).toISOString(),
          to: new Date(to).toISOString(),
          resolution,
          series,
        };
      },
      { resolved: scope },
    );
  }

  /** The latest value per series of a node. */
  async latest(actor: Actor, nodeId: string): Promise<Latest> {
    await assertNodeAccess(this.hub, actor, nodeId);
    return { nodeId, values: await withTenantRead(this.hub, actor, (db) => latestValues(db, nodeId)) };
  }
}
