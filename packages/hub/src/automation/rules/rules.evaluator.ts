// The evaluation of rules, shared by the live evaluator (ingest) and the dry run (stored
// telemetry), so both decide the same from the same samples. Pure: no clock, no database — the
// caller hands over samples in time order and the inputs conditions read.
import { metricDefinition } from '@wattfleet/protocol';
import type { TariffDefinition } from '../../tariffs/tariff-cost.ts';
import { localParts, zonedTimeToUtc } from '../../time/zoned.ts';
import type { MetricTrigger, RuleAction, RuleCondition } from './rules.schema.ts';

/** Per (rule, series) state of a threshold trigger. */
export interface ThresholdState {
  /** False after firing, until the value passes back beyond threshold ∓ hysteresis. */
  armed: boolean;
  /** When the value started to meet the threshold (while armed). */
  since: number | null;
  /** Last sample seen: older or repeated samples (a resent or late batch) are ignored. */
  lastTs: number;
}

export const freshState = (): ThresholdState => ({
  armed: true,
  since: null,
  lastTs: Number.NEGATIVE_INFINITY,
});

export interface Crossing {
  /** When the value first met the threshold: with the rule version it identifies the crossing. */
  crossingAt: number;
  /** The sample at which the duration was complete. */
  firedAt: number;
  value: number;
  reason: string;
}

const meets = (t: MetricTrigger, v: number) => (t.op === 'above' ? v >= t.threshold : v <= t.threshold);
/** Back beyond the hysteresis band: the trigger may fire again at the next crossing. */
const rearms = (t: MetricTrigger, v: number) =>
  t.op === 'above' ? v < t.threshold - t.hysteresis : v > t.threshold + t.hysteresis;

/**
 * One sample through a threshold trigger: fires once per crossing (when the value has met the
 * threshold for `forS`), not per sample; re-arms only past the hysteresis band.
 */
export function stepThreshold(
  t: MetricTrigger,
  s: ThresholdState,
  ts: number,
  value: number,
): Crossing | undefined {
  if (ts <= s.lastTs) return undefined;
  s.lastTs = ts;
  if (!s.armed) {
    if (rearms(t, value)) s.armed = true;
    else return undefined;
  }
  if (!meets(t, value)) {
    s.since = null;
    return undefined;
  }
  s.since ??= ts;
  if (ts - s.since < t.forS * 1000) return undefined;
  const crossingAt = s.since;
  s.armed = false;
  s.since = null;
  return { crossingAt, firedAt: ts, value, reason: thresholdReason(t, value, ts - crossingAt) };
}

function formatValue(metric: string, v: number): string {
  const unit = metricDefinition(metric)?.unit ?? '';
  const round = (x: number) => String(Math.round(x * 100) / 100);
  if ((unit === 'W' || unit === 'Wh') && Math.abs(v) >= 1000) return `${round(v / 1000)} k${unit}`;
  return unit ? `${round(v)} ${unit}` : round(v);
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round((s / 60) * 10) / 10} min`;
  return `${Math.round((s / 3600) * 10) / 10} h`;
}

/** "grid_w -2.3 kW for 5 min ≤ -2 kW": the explanation that lands in the audit log. */
export function thresholdReason(t: MetricTrigger, value: number, heldMs: number): string {
  return `${t.metric} ${formatValue(t.metric, value)} for ${formatDuration(heldMs)} ${
    t.op === 'above' ? '≥' : '≤'
  } ${formatValue(t.metric, t.threshold)}`;
}

/** What conditions read; live from the database, in a dry run from the stored history. */
export interface ConditionInputs {
  timezone: string;
  /** The site's latest battery_soc at or before `at`, if any. */
  socAt(at: number): number | undefined;
  channelState(channelId: string): 'on' | 'off' | undefined;
  paused: boolean;
}

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

export function localMinutes(at: number, tz: string): number {
  const p = localParts(at, tz);
  return (p.hour % 24) * 60 + p.minute;
}

export function inWindow(at: number, tz: string, from: string, to: string): boolean {
  const m = localMinutes(at, tz);
  const a = minutesOf(from);
  const b = minutesOf(to);
  return a <= b ? m >= a && m < b : m >= a || m < b;
}

/** undefined when every condition holds, else which one did not, in words. */
export function failedCondition(
  conditions: readonly RuleCondition[],
  at: number,
  inputs: ConditionInputs,
): string | undefined {
  for (const c of conditions) {
    switch (c.type) {
      case 'time_window':
        if (!inWindow(at, inputs.timezone, c.from, c.to)) return `outside ${c.from}–${c.to}`;
        break;
      case 'battery_soc': {
        const soc = inputs.socAt(at);
        if (soc === undefined) return 'no battery_soc stored';
        if (c.min !== undefined && soc < c.min) return `battery_soc ${soc} % < ${c.min} %`;
        if (c.max !== undefined && soc > c.max) return `battery_soc ${soc} % > ${c.max} %`;
        break;
      }
      case 'channel_state': {
        const st = inputs.channelState(c.channelId);
        if (st !== c.state) return `channel ${c.channelId} is ${st ?? 'unknown'}, not ${c.state}`;
        break;
      }
      case 'automation_active':
        if (inputs.paused) return 'automation is paused on the site';
        break;
    }
  }
  return undefined;
}

/** The channel states a rule's actions set (scenes expanded by the caller's lookup). */
export function switchesOf(
  actions: readonly RuleAction[],
  sceneTargets: (sceneId: string) => readonly { channelId: string; state: 'on' | 'off' }[],
): { channelId: string; state: 'on' | 'off' }[] {
  const out: { channelId: string; state: 'on' | 'off' }[] = [];
  for (const a of actions) {
    if (a.type === 'set_channel') out.push({ channelId: a.channelId, state: a.state });
    if (a.type === 'scene') out.push(...sceneTargets(a.sceneId));
  }
  return out;
}

/** Key of one series a metric trigger watches. */
export const seriesKey = (nodeId: string, equipment: string, metric: string) =>
  `series:${nodeId}/${equipment}/${metric}`;

/** Whether a series is one the trigger watches. */
export const watches = (t: MetricTrigger, s: { nodeId: string; equipment: string; metric: string }) =>
  s.metric === t.metric &&
  (t.nodeId === undefined || t.nodeId === s.nodeId) &&
  (t.equipment === undefined || t.equipment === s.equipment);

/** The instant a site-local HH:MM falls on a local date (a spring-forward gap moves it on by the gap). */
export function occurrenceOn(date: string, hhmm: string, tz: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return zonedTimeToUtc(y, m, d, Number(hhmm.slice(0, 2)), tz) + Number(hhmm.slice(3, 5)) * 60_000;
}

/** Starts of the tariff's periods on a local date (weekday and season filters applied), named or all. */
export function tariffStarts(
  tariff: TariffDefinition,
  date: string,
  tz: string,
  period?: string,
): { at: number; key: string; reason: string }[] {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const weekday = new Date(Date.UTC(y, m - 1, d)).getUTCDay();
  const out: { at: number; key: string; reason: string }[] = [];
  tariff.periods.forEach((p, i) => {
    if (period !== undefined && p.name !== period) return;
    if (p.weekdays && !p.weekdays.includes(weekday)) return;
    if (p.months && !p.months.includes(m)) return;
    if (p.from === '24:00') return;
    const name = p.name ?? `period ${i + 1}`;
    out.push({
      at: occurrenceOn(date, p.from, tz),
      key: `tariff:${i}:${p.from}`,
      reason: `tariff period "${name}" starts at ${p.from} (${p.rate}/kWh)`,
    });
  });
  return out;
}
