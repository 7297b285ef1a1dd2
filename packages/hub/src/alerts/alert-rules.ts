// The rule catalogue. A rule looks at one site and says, per target, whether its condition holds
// (firing), has clearly gone away (clearing: past the threshold by the hysteresis margin), or sits
// in between (neither: nothing changes). Duration, repeat, mutes and state live in the engine.

import { EVENT_KINDS } from '@wattfleet/protocol';
import type { Kysely } from 'kysely';
import SunCalc from 'suncalc';
import type { DB } from '../storage/schema.ts';
import { VENDOR_RULES } from '../vendors/vendor-alert-rules.ts';
import {
  errorCountsByNode,
  type LatestNodeEvent,
  latestNodeEvents,
  openLostBatches,
  outboxDropEvents,
  recentDataQuality,
} from './alerts.repository.ts';
import type { Severity } from './alerts.tables.ts';

export interface RuleSettings {
  enabled: boolean;
  severity: Severity;
  durationS: number;
  /** Re-notify every repeatS while open; 0 = never. */
  repeatS: number;
  params: Record<string, number>;
}

export interface SiteInfo {
  id: string;
  org_id: string;
  latitude: number | null;
  longitude: number | null;
}

export interface NodeInfo {
  id: string;
  name: string;
  last_seen_at: Date | null;
  status: string;
  status_reason: string | null;
  clock_offset_ms: number | null;
  /** Last signed request refused for its timestamp (node clock outside the window). */
  clock_skew_at: Date | null;
  clock_skew_ms: number | null;
  last_status: Record<string, unknown> | null;
  created_at: Date;
}

export interface Observation {
  targetType: 'site' | 'node' | 'equipment' | 'series';
  targetId: string;
  nodeId: string | null;
  firing: boolean;
  clearing: boolean;
  value: number | null;
  message: string;
}

export interface RecentSeries {
  id: number;
  nodeId: string;
  equipment: string;
  metric: string;
  samples: { ts: number; value: number }[];
}

export interface RuleContext {
  db: Kysely<DB>;
  now: number;
  site: SiteInfo;
  nodes: NodeInfo[];
  params: Record<string, number>;
  /** Samples of the site's series over the last `windowS` seconds (memoised per evaluation). */
  recent(windowS: number): Promise<RecentSeries[]>;
}

export interface RuleDefinition {
  name: string;
  description: string;
  defaults: RuleSettings;
  evaluate(ctx: RuleContext): Promise<Observation[]>;
}

const MB = 1024 * 1024;
const CT_METRICS = new Set(['load_w', 'grid_w', 'power_w', 'power_l1_w', 'power_l2_w', 'power_l3_w']);
const VOLTAGE_METRICS = new Set(['voltage_l1', 'voltage_l2', 'voltage_l3']);

const range = (xs: { value: number }[]) =>
  xs.length ? Math.max(...xs.map((x) => x.value)) - Math.min(...xs.map((x) => x.value)) : 0;

function nodeObs(
  node: NodeInfo,
  firing: boolean,
  clearing: boolean,
  value: number | null,
  message: string,
): Observation {
  return { targetType: 'node', targetId: node.id, nodeId: node.id, firing, clearing, value, message };
}

/** Latest event per (node, equipment) among `kinds` within the lookback. */
function latestEvents(ctx: RuleContext, kinds: string[], lookbackS: number): Promise<LatestNodeEvent[]> {
  return latestNodeEvents(ctx.db, ctx.site.id, kinds, new Date(ctx.now - lookbackS * 1000));
}

export const RULES: RuleDefinition[] = [
  {
    name: 'node_offline',
    description: 'A node has not been heard from',
    defaults: {
      enabled: true,
      severity: 'critical',
      durationS: 0,
      repeatS: 0,
      params: { offlineAfterS: 300 },
    },
    async evaluate(ctx) {
      // Silence is measured against `now`; a last will (status offline) counts at once.
      return ctx.nodes
        .filter((n) => n.last_seen_at !== null)
        .map((n) => {
          const silentS = (ctx.now - n.last_seen_at!.getTime()) / 1000;
          const firing = silentS > ctx.params.offlineAfterS! || n.status === 'offline';
          const why =
            n.status === 'offline'
              ? `offline (${n.status_reason ?? 'reported'})`
              : `silent for ${Math.round(silentS)} s`;
          return nodeObs(n, firing, !firing, Math.round(silentS), `Node ${n.name} ${why}`);
        });
    },
  },
  {
    name: 'equipment_unreachable',
    description: 'The node reports that it cannot reach an equipment',
    defaults: { enabled: true, severity: 'warning', durationS: 0, repeatS: 0, params: { lookbackS: 86_400 } },
    async evaluate(ctx) {
      const events = await latestEvents(
        ctx,
        [EVENT_KINDS.equipmentUnreachable, EVENT_KINDS.equipmentReachable],
        ctx.params.lookbackS!,
      );
      return events.map((e) => ({
        targetType: 'equipment' as const,
        targetId: `${e.node_id}/${e.equipment ?? ''}`,
        nodeId: e.node_id,
        firing: e.kind === EVENT_KINDS.equipmentUnreachable,
        clearing: e.kind === EVENT_KINDS.equipmentReachable,
        value: null,
        message: `Equipment ${e.equipment ?? '?'} not responding: ${e.message}`,
      }));
    },
  },
  {
    name: 'ct_flatline',
    description: 'A CT or meter reading stays flat (often at zero) while the rest of the site varies',
    defaults: {
      enabled: true,
      severity: 'warning',
      durationS: 0,
      repeatS: 0,
      params: { windowS: 1800, epsilonW: 1, minVariationW: 50, minSamples: 5 },
    },
    async evaluate(ctx) {
      const all = (await ctx.recent(ctx.params.windowS!)).filter(
        (s) => s.samples.length >= ctx.params.minSamples!,
      );
      const power = all.filter((s) => s.metric.endsWith('_w'));
      const out: Observation[] = [];
      for (const s of power.filter((p) => CT_METRICS.has(p.metric))) {
        const flat = range(s.samples);
        const othersVary = power.some((o) => o.id !== s.id && range(o.samples) > ctx.params.minVariationW!);
        const last = s.samples.at(-1)!.value;
        out.push({
          targetType: 'series',
          targetId: String(s.id),
          nodeId: s.nodeId,
          firing: flat <= ctx.params.epsilonW! && othersVary,
          // Hysteresis: clears once the reading moves by clearly more than the flat band.
          clearing: flat > ctx.params.epsilonW! * 2,
          value: last,
          message: `${s.metric}${s.equipment ? ` (${s.equipment})` : ''} stuck at ${last} W while the site varies`,
        });
      }
      return out;
    },
  },
  {
    name: 'pv_flat_daylight',
    description: 'PV produces nothing although the sun is up (zero at night is normal)',
    defaults: {
      enabled: true,
      severity: 'warning',
      durationS: 0,
      repeatS: 0,
      params: { windowS: 1800, minSunElevationDeg: 10, minW: 10, recoverW: 50, minSamples: 3 },
    },
    async evaluate(ctx) {
      const { latitude, longitude } = ctx.site;
      if (latitude === null || longitude === null) return [];
      const elevationDeg =
        (SunCalc.getPosition(new Date(ctx.now), latitude, longitude).altitude * 180) / Math.PI;
      const daylight = elevationDeg >= ctx.params.minSunElevationDeg!;
      const series = (await ctx.recent(ctx.params.windowS!)).filter(
        (s) => s.metric === 'solar_w' && s.samples.length >= ctx.params.minSamples!,
      );
      return series.map((s) => {
        const max = Math.max(...s.samples.map((x) => x.value));
        return {
          targetType: 'series' as const,
          targetId: String(s.id),
          nodeId: s.nodeId,
          // At night neither fires nor clears: a sleeping inverter is normal, and a fault seen
          // by day is not "fixed" by sunset.
          firing: daylight && max <= ctx.params.minW!,
          clearing: max >= ctx.params.recoverW!,
          value: max,
          message: `PV ${s.equipment || 'solar'} at ${max} W with the sun ${elevationDeg.toFixed(0)}° up`,
        };
      });
    },
  },
  {
    name: 'voltage_out_of_range',
    description: 'Grid voltage outside nominal ± tolerance',
    defaults: {
      enabled: true,
      severity: 'warning',
      durationS: 0,
      repeatS: 0,
      params: { nominalV: 230, tolerancePct: 10, hysteresisV: 2, windowS: 300 },
    },
    async evaluate(ctx) {
      const p = ctx.params;
      const lo = p.nominalV! * (1 - p.tolerancePct! / 100);
      const hi = p.nominalV! * (1 + p.tolerancePct! / 100);
      const series = (await ctx.recent(p.windowS!)).filter(
        (s) => VOLTAGE_METRICS.has(s.metric) && s.samples.length,
      );
      return series.map((s) => {
        const avg = s.samples.reduce((a, x) => a + x.value, 0) / s.samples.length;
        return {
          targetType: 'series' as const,
          targetId: String(s.id),
          nodeId: s.nodeId,
          firing: avg < lo || avg > hi,
          clearing: avg >= lo + p.hysteresisV! && avg <= hi - p.hysteresisV!,
          value: avg,
          message: `${s.metric} at ${avg.toFixed(1)} V (allowed ${lo.toFixed(0)}–${hi.toFixed(0)} V)`,
        };
      });
    },
  },
  {
    name: 'disk_low',
    description: 'Free disk space on a node is low',
    defaults: {
      enabled: true,
      severity: 'warning',
      durationS: 0,
      repeatS: 0,
      params: { minFreeBytes: 500 * MB, hysteresisBytes: 50 * MB },
    },
    async evaluate(ctx) {
      return ctx.nodes.flatMap((n) => {
        const free = n.last_status?.diskFreeBytes;
        if (typeof free !== 'number') return [];
        return [
          nodeObs(
            n,
            free < ctx.params.minFreeBytes!,
            free > ctx.params.minFreeBytes! + ctx.params.hysteresisBytes!,
            free,
            `Node ${n.name} has ${Math.round(free / MB)} MB of disk free`,
          ),
        ];
      });
    },
  },
  {
    name: 'update_failed',
    description: 'A node update failed (and was rolled back)',
    defaults: {
      enabled: true,
      severity: 'warning',
      durationS: 0,
      repeatS: 0,
      params: { lookbackS: 7 * 86_400 },
    },
    async evaluate(ctx) {
      // A rollback is a failed update too; a later success clears either.
      const failed: string[] = [EVENT_KINDS.updateFailed, EVENT_KINDS.updateRolledBack];
      const events = await latestEvents(ctx, [...failed, EVENT_KINDS.updateSucceeded], ctx.params.lookbackS!);
      const byNode = new Map(events.map((e) => [e.node_id, e]));
      return ctx.nodes.map((n) => {
        const e = byNode.get(n.id);
        const isFailed = e !== undefined && failed.includes(e.kind);
        return nodeObs(n, isFailed, !isFailed, null, `Update failed on ${n.name}: ${e?.message ?? ''}`);
      });
    },
  },
  {
    name: 'config_rolled_back',
    description: 'A configuration pushed to a node failed its health check and was rolled back',
    defaults: {
      enabled: true,
      severity: 'warning',
      durationS: 0,
      repeatS: 0,
      params: { lookbackS: 7 * 86_400 },
    },
    async evaluate(ctx) {
      // The node runs its previous config again, so nothing is down; but what the operator
      // pushed is not in effect. A later push that applies (config.applied) clears it.
      const events = await latestEvents(
        ctx,
        [EVENT_KINDS.configRolledBack, EVENT_KINDS.configApplied],
        ctx.params.lookbackS!,
      );
      const byNode = new Map(events.map((e) => [e.node_id, e]));
      return ctx.nodes.map((n) => {
        const e = byNode.get(n.id);
        const rolledBack = e?.kind === EVENT_KINDS.configRolledBack;
        return nodeObs(
          n,
          rolledBack,
          !rolledBack,
          null,
          `Config push rolled back on ${n.name}: ${e?.message ?? ''}`,
        );
      });
    },
  },
  {
    name: 'error_burst',
    description: 'Too many error events from a node within an hour',
    defaults: { enabled: true, severity: 'warning', durationS: 0, repeatS: 0, params: { maxPerHour: 10 } },
    async evaluate(ctx) {
      // An agent's error-log burst arrives as one event that says how many lines it stands for.
      const counts = await errorCountsByNode(
        ctx.db,
        ctx.site.id,
        EVENT_KINDS.errorBurst,
        new Date(ctx.now - 3_600_000),
      );
      return ctx.nodes.map((n) => {
        const c = counts.get(n.id) ?? 0;
        return nodeObs(
          n,
          c > ctx.params.maxPerHour!,
          c <= ctx.params.maxPerHour! / 2,
          c,
          `${c} errors from ${n.name} in the last hour`,
        );
      });
    },
  },
  {
    name: 'clock_drift',
    description: "A node's clock is off",
    defaults: {
      enabled: true,
      severity: 'warning',
      durationS: 0,
      repeatS: 0,
      params: { maxDriftMs: 60_000, hysteresisMs: 5_000 },
    },
    async evaluate(ctx) {
      return ctx.nodes.flatMap((n) => {
        if (n.clock_offset_ms === null) return [];
        const d = Math.abs(n.clock_offset_ms);
        return [
          nodeObs(
            n,
            d > ctx.params.maxDriftMs!,
            d < ctx.params.maxDriftMs! - ctx.params.hysteresisMs!,
            n.clock_offset_ms,
            `Clock of ${n.name} is off by ${Math.round(n.clock_offset_ms / 1000)} s`,
          ),
        ];
      });
    },
  },
  {
    name: 'clock_skew',
    description: "A node's signed requests are refused: its clock is outside the signature window",
    defaults: { enabled: true, severity: 'critical', durationS: 0, repeatS: 0, params: {} },
    async evaluate(ctx) {
      // Recorded by node-auth on each refusal and cleared by the first request inside the window,
      // so this holds exactly while the node cannot deliver over HTTP.
      return ctx.nodes.map((n) => {
        const skewS = n.clock_skew_ms === null ? null : Math.round(n.clock_skew_ms / 1000);
        return nodeObs(
          n,
          n.clock_skew_at !== null,
          n.clock_skew_at === null,
          n.clock_skew_ms,
          `Node ${n.name} is refused by the hub: its clock is ${skewS ?? '?'} s off (data kept on the node)`,
        );
      });
    },
  },
  {
    name: 'outbox_drops',
    description: 'A node dropped buffered samples (its outbox was full)',
    // The node's count is cumulative and never goes down, so the rule looks at the drops the hub
    // recorded as they grew (node.outbox_dropped events, see heartbeat.service.ts): new drops in
    // the last windowS open the alert; it resolves once no drop is left in the window and none came
    // for quietS (an alert does not flap while a full outbox drops a little every few minutes).
    defaults: {
      enabled: true,
      severity: 'critical',
      durationS: 0,
      repeatS: 0,
      params: { maxDropped: 0, windowS: 900, quietS: 3600 },
    },
    async evaluate(ctx) {
      const { windowS, quietS, maxDropped } = ctx.params as Record<
        'windowS' | 'quietS' | 'maxDropped',
        number
      >;
      const since = new Date(ctx.now - Math.max(windowS, quietS) * 1000);
      const rows = await outboxDropEvents(ctx.db, ctx.site.id, since);
      return ctx.nodes.flatMap((n) => {
        const mine = rows.filter((r) => r.node_id === n.id);
        const ageS = (r: { ts: Date }) => (ctx.now - new Date(r.ts).getTime()) / 1000;
        const recent = mine.filter((r) => ageS(r) <= windowS).reduce((a, r) => a + Number(r.dropped), 0);
        const quiet = !mine.some((r) => ageS(r) <= quietS);
        const firing = recent > maxDropped;
        return [
          nodeObs(
            n,
            firing,
            !firing && quiet,
            recent,
            `Node ${n.name} dropped ${recent} buffered samples in the last ${Math.round(windowS / 60)} min`,
          ),
        ];
      });
    },
  },
  {
    name: 'data_quality',
    description: "Readings break their equipment's data contract (out of range, not whole, missing)",
    // Findings are aggregated rows (ingest/data-quality.ts); a row added to within windowS opens
    // the alert for its node, which resolves once none was added to for quietS.
    defaults: {
      enabled: true,
      severity: 'warning',
      durationS: 0,
      repeatS: 0,
      params: { windowS: 3600, quietS: 3600 },
    },
    async evaluate(ctx) {
      const { windowS, quietS } = ctx.params as Record<'windowS' | 'quietS', number>;
      const recent = await recentDataQuality(ctx.db, ctx.site.id, new Date(ctx.now - windowS * 1000));
      const quiet = await recentDataQuality(ctx.db, ctx.site.id, new Date(ctx.now - quietS * 1000));
      return ctx.nodes.map((n) => {
        const r = recent.find((x) => x.node_id === n.id);
        const firing = r !== undefined;
        return nodeObs(
          n,
          firing,
          !firing && !quiet.some((x) => x.node_id === n.id),
          r ? Number(r.samples) : 0,
          r
            ? `Node ${n.name}: ${r.findings} data-quality finding(s), ${r.samples} reading(s), e.g. ${r.example}`
            : `Node ${n.name}: no data-quality findings`,
        );
      });
    },
  },
  {
    name: 'batches_lost',
    description: 'Telemetry batches a node formed never reached the hub (a hole in its batch sequence)',
    // Fires while a hole detected within lookbackS is open; a late batch that fills it clears it.
    defaults: {
      enabled: true,
      severity: 'warning',
      durationS: 0,
      repeatS: 0,
      params: { lookbackS: 86_400 },
    },
    async evaluate(ctx) {
      const rows = await openLostBatches(
        ctx.db,
        ctx.site.id,
        new Date(ctx.now - ctx.params.lookbackS! * 1000),
      );
      return ctx.nodes.map((n) => {
        const lost = Number(rows.find((r) => r.node_id === n.id)?.batches ?? 0);
        return nodeObs(n, lost > 0, lost === 0, lost, `Node ${n.name}: ${lost} telemetry batch(es) lost`);
      });
    },
  },
  ...VENDOR_RULES,
];

export const RULES_BY_NAME = new Map(RULES.map((r) => [r.name, r]));
