// Words for schedules, scenes and rules: instants shown on the SITE's clock (never the browser's),
// channel names, one-line summaries of triggers and actions, and the hub's validation problems
// keyed by field so each editor can show every problem next to its field at once.
import { metricDefinition } from '@wattfleet/protocol/metrics';
import type { RuleAction, RuleCondition, RuleTrigger, Scene, TimeSpec } from '../api/automation.ts';
import type { Channel } from '../api/equipment.ts';
import { ApiError, type ApiProblem } from '../api/http.ts';
import { clockTime, localDate } from './site-time.ts';

/** ISO weekdays, 1 = Monday … 7 = Sunday, as the hub's schedules count them. */
export const WEEKDAYS = [
  { n: 1, short: 'Mon', long: 'Monday' },
  { n: 2, short: 'Tue', long: 'Tuesday' },
  { n: 3, short: 'Wed', long: 'Wednesday' },
  { n: 4, short: 'Thu', long: 'Thursday' },
  { n: 5, short: 'Fri', long: 'Friday' },
  { n: 6, short: 'Sat', long: 'Saturday' },
  { n: 7, short: 'Sun', long: 'Sunday' },
] as const;

/** The short weekday name of a local date 'YYYY-MM-DD' (a calendar date: no zone involved). */
export function weekdayOf(day: string): string {
  const dow = new Date(`${day}T12:00:00Z`).getUTCDay(); // 0 = Sunday
  return WEEKDAYS[(dow + 6) % 7]!.short;
}

/** "Mon 2026-12-07 07:00": an instant as the site's clock and calendar read it. */
export function siteDateTime(iso: string | null | undefined, timeZone: string): string {
  if (!iso) return '–';
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return '–';
  const day = localDate(ms, timeZone);
  return `${weekdayOf(day)} ${day} ${clockTime(ms, timeZone)}`;
}

export const channelName = (c: Pick<Channel, 'label' | 'equipment' | 'channel'>) =>
  c.label ?? (c.channel ? `${c.equipment} ${c.channel}` : c.equipment);

/** A channel id as people read it (its name and node), or the id when the site has no such channel. */
export function channelLabel(id: string, channels: readonly Channel[]): string {
  const c = channels.find((x) => x.id === id);
  return c ? `${channelName(c)} (${c.nodeName})` : `unknown channel ${id.slice(0, 8)}`;
}

/**
 * Who runs a schedule or rule: the hub, or the node whose agent carries it in its automation
 * bundle (it then runs while the hub is unreachable).
 */
export function executorText(executorNodeId: string | null, channels: readonly Channel[]): string {
  if (!executorNodeId) return 'Hub';
  const name = channels.find((c) => c.nodeId === executorNodeId)?.nodeName;
  return `Node ${name ?? executorNodeId.slice(0, 8)} (runs offline)`;
}

export function timeSpecText(t: TimeSpec | null | undefined): string {
  if (!t) return '';
  if ('at' in t) return t.at;
  const off = t.offsetMin === 0 ? '' : ` ${t.offsetMin > 0 ? '+' : '−'}${Math.abs(t.offsetMin)} min`;
  return `${t.sun}${off}`;
}

function unitOf(metric: string): string {
  return metricDefinition(metric)?.unit ?? '';
}

export function triggerText(t: RuleTrigger): string {
  switch (t.type) {
    case 'metric': {
      const u = unitOf(t.metric);
      const hold = t.forS > 0 ? ` for ${t.forS} s` : '';
      const band = t.hysteresis > 0 ? ` (hysteresis ${t.hysteresis}${u ? ` ${u}` : ''})` : '';
      return `${t.metric} ${t.op} ${t.threshold}${u ? ` ${u}` : ''}${hold}${band}${t.equipment ? ` on ${t.equipment}` : ''}`;
    }
    case 'node':
      return `a node goes ${t.event}`;
    case 'alert':
      return `an alert${t.rule ? ` "${t.rule}"` : ''} is ${t.event}`;
    case 'time':
      return `at ${t.at} (site time)`;
    case 'tariff_period':
      return t.period ? `tariff period "${t.period}" starts` : 'a tariff period starts';
  }
}

export function conditionText(c: RuleCondition, channels: readonly Channel[]): string {
  switch (c.type) {
    case 'time_window':
      return `between ${c.from} and ${c.to} (site time)`;
    case 'battery_soc':
      return `battery ${c.min !== undefined ? `≥ ${c.min} %` : ''}${c.min !== undefined && c.max !== undefined ? ' and ' : ''}${c.max !== undefined ? `≤ ${c.max} %` : ''}`;
    case 'channel_state':
      return `${channelLabel(c.channelId, channels)} is ${c.state}`;
    case 'automation_active':
      return 'automation is not paused';
  }
}

export function actionText(a: RuleAction, channels: readonly Channel[], scenes: readonly Scene[]): string {
  switch (a.type) {
    case 'set_channel':
      return `switch ${channelLabel(a.channelId, channels)} ${a.state}`;
    case 'scene':
      return `activate scene "${scenes.find((s) => s.id === a.sceneId)?.name ?? a.sceneId.slice(0, 8)}"`;
    case 'notify':
      return a.message ? `notify: "${a.message}"` : 'notify';
    case 'command':
      return `send ${a.command} to node ${a.nodeId.slice(0, 8)}`;
  }
}

// ── validation problems by field ─────────────────────────────────────────────────────────────

/** The hub's field problems of a refused save (path like /body/trigger/threshold). */
export function problemsOf(error: Error | undefined): ApiProblem[] {
  return error instanceof ApiError ? error.problems : [];
}

/** Problems at `path` or inside it (a union mismatch may point at the object, not the field). */
export function problemsAt(problems: readonly ApiProblem[], path: string): ApiProblem[] {
  return problems.filter((p) => p.path === path || p.path.startsWith(`${path}/`));
}

const FIELD_WORDS: Record<string, string> = {
  name: 'Name',
  description: 'Description',
  channelId: 'Channel',
  priority: 'Priority',
  validFrom: 'Valid from',
  validUntil: 'Valid until',
  exceptDates: 'Exception dates',
  graceMin: 'Grace period',
  days: 'Days',
  weekdays: 'Weekdays',
  dates: 'Dates',
  start: 'Start',
  end: 'End',
  action: 'Action',
  trigger: 'Trigger',
  metric: 'Metric',
  op: 'Direction',
  threshold: 'Threshold',
  forS: 'Duration',
  hysteresis: 'Hysteresis',
  nodeId: 'Node',
  equipment: 'Equipment',
  at: 'Time',
  from: 'From',
  to: 'To',
  min: 'Minimum',
  max: 'Maximum',
  state: 'State',
  sceneId: 'Scene',
  targets: 'Channels',
  ttlS: 'Wait for offline nodes',
  message: 'Message',
  command: 'Command',
};

/** "/body/conditions/0/min" → "Condition 1 · Minimum"; "/body/trigger/threshold" → "Trigger · Threshold". */
export function fieldLabel(path: string): string {
  const parts = path.split('/').filter(Boolean);
  if (parts[0] === 'body') parts.shift();
  const words: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    const next = parts[i + 1];
    if (
      (p === 'conditions' || p === 'actions' || p === 'targets') &&
      next !== undefined &&
      /^\d+$/.test(next)
    ) {
      words.push(
        `${p === 'conditions' ? 'Condition' : p === 'actions' ? 'Action' : 'Channel'} ${Number(next) + 1}`,
      );
      i++;
    } else if (/^\d+$/.test(p)) words.push(`#${Number(p) + 1}`);
    else if (p !== 'rule') words.push(FIELD_WORDS[p] ?? p);
  }
  return words.join(' · ') || 'The whole form';
}

export const RUN_OUTCOME_WORDS: Record<string, string> = {
  running: 'running',
  done: 'switched',
  missed: 'missed (hub was down)',
  'skipped-overlap': 'skipped: a higher-priority schedule held the channel',
  superseded: 'superseded',
  refused: 'refused',
  failed: 'failed',
};
