// Schedules, scenes and rules of a site, and the site's automation pause, as the hub's automation
// API answers them (camelCase; hub/src/automation/{schedules,scenes,rules}/*.schema.ts and
// automation.schema.ts). The browser bundle does not load TypeBox, so the wire types are written
// out here; test/automation-types.test.ts checks at compile time that they are the hub's own.
import type { SwitchState } from '@wattfleet/protocol';
import { request } from './http.ts';

export type OnOff = SwitchState;

// ── schedules ────────────────────────────────────────────────────────────────────────────────
/** A site-local wall time, or the site's sunrise / sunset with an offset in minutes. */
export type TimeSpec = { at: string } | { sun: 'sunrise' | 'sunset'; offsetMin: number };
/** ISO weekdays 1 = Monday … 7 = Sunday, or one-off local dates 'YYYY-MM-DD'. */
export type DaySpec = { kind: 'weekly'; weekdays: number[] } | { kind: 'dates'; dates: string[] };

export interface ScheduleRule {
  days: DaySpec;
  start: TimeSpec;
  /** With an end, the schedule is a window: the opposite state at the end. */
  end?: TimeSpec | null;
  action: OnOff;
}

export interface NextRun {
  dueAt: string;
  state: OnOff;
  reason: string;
}

export interface Schedule {
  id: string;
  siteId: string;
  channelId: string;
  name: string;
  enabled: boolean;
  priority: number;
  version: number;
  rule: ScheduleRule;
  summary: string;
  timezone: string;
  validFrom: string | null;
  validUntil: string | null;
  exceptDates: string[];
  graceMin: number;
  next: NextRun[];
  /** The edge agent that runs it from its automation bundle; null = the hub. */
  executorNodeId: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface ScheduleList {
  items: Schedule[];
  control: { canEdit: boolean; reason?: string };
}

export interface ScheduleBody {
  channelId: string;
  name: string;
  enabled?: boolean;
  priority: number;
  rule: ScheduleRule;
  validFrom?: string | null;
  validUntil?: string | null;
  exceptDates?: string[];
  graceMin?: number;
}
export type SchedulePatch = Partial<Omit<ScheduleBody, 'channelId'>>;

export type RunOutcome =
  | 'running'
  | 'done'
  | 'missed'
  | 'skipped-overlap'
  | 'superseded'
  | 'refused'
  | 'failed';

export interface ScheduleRun {
  id: string;
  scheduleId: string;
  scheduleVersion: number;
  channelId: string;
  dueAt: string;
  ranAt: string | null;
  edge: 'start' | 'end' | 'once';
  state: OnOff;
  outcome: RunOutcome;
  reason: string;
  errorCode: string | null;
  commandId: string | null;
  commandState: string | null;
  /** The node that executed it (edge execution); null = the hub. */
  executedBy: string | null;
}

export interface Occurrence {
  dueAt: string;
  local: string;
  day: string;
  edge: 'start' | 'end' | 'once';
  state: OnOff;
  reason: string;
}

export interface OccurrenceList {
  scheduleId: string;
  version: number;
  enabled: boolean;
  timezone: string;
  items: Occurrence[];
}

// ── scenes ───────────────────────────────────────────────────────────────────────────────────
export interface SceneTarget {
  channelId: string;
  state: OnOff;
}

export interface SceneBody {
  name: string;
  description?: string;
  ttlS?: number;
  targets: SceneTarget[];
}

export interface Scene {
  id: string;
  siteId: string;
  name: string;
  description: string | null;
  version: number;
  ttlS: number;
  targets: SceneTarget[];
  createdAt: string;
  updatedAt: string;
}

export type TargetOutcome = 'pending' | 'confirmed' | 'failed' | 'refused' | 'unchanged';

export interface ActivationTarget {
  channelId: string;
  state: OnOff;
  outcome: TargetOutcome;
  errorCode: string | null;
  reason: string | null;
  commandId: string | null;
  updatedAt: string;
}

export interface Activation {
  id: string;
  sceneId: string;
  siteId: string;
  sceneName: string;
  sceneVersion: number;
  activatedBy: string;
  status: 'pending' | 'succeeded' | 'partial' | 'failed';
  createdAt: string;
  settledAt: string | null;
  targets: ActivationTarget[];
}

// ── rules ────────────────────────────────────────────────────────────────────────────────────
export interface MetricTrigger {
  type: 'metric';
  metric: string;
  nodeId?: string;
  equipment?: string;
  op: 'above' | 'below';
  threshold: number;
  forS: number;
  hysteresis: number;
}
export type RuleTrigger =
  | MetricTrigger
  | { type: 'node'; nodeId?: string; event: 'offline' | 'online' }
  | { type: 'alert'; event: 'opened' | 'resolved'; rule?: string }
  | { type: 'time'; at: string }
  | { type: 'tariff_period'; period?: string };

export type RuleCondition =
  | { type: 'time_window'; from: string; to: string }
  | { type: 'battery_soc'; min?: number; max?: number }
  | { type: 'channel_state'; channelId: string; state: OnOff }
  | { type: 'automation_active' };

export type RuleAction =
  | { type: 'set_channel'; channelId: string; state: OnOff }
  | { type: 'scene'; sceneId: string }
  | { type: 'notify'; message?: string }
  | { type: 'command'; nodeId: string; command: 'RESTART' | 'DIAGNOSTICS' | 'FETCH_LOGS' };

export interface RuleDefinition {
  trigger: RuleTrigger;
  conditions?: RuleCondition[];
  actions: RuleAction[];
}

export interface RuleBody extends RuleDefinition {
  name: string;
  description?: string;
  enabled?: boolean;
}

export interface Rule {
  id: string;
  siteId: string;
  name: string;
  description: string | null;
  enabled: boolean;
  version: number;
  trigger: RuleTrigger;
  conditions: RuleCondition[];
  actions: RuleAction[];
  suspendedAt: string | null;
  suspendedReason: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface ActionResult {
  action: string;
  target: string | null;
  state?: OnOff;
  ok: boolean;
  detail: string | null;
}

export interface Firing {
  id: string;
  ruleId: string;
  ruleVersion: number;
  sourceKey: string;
  crossingAt: string;
  firedAt: string;
  reason: string;
  outcome: 'fired' | 'skipped' | 'suspended';
  results: ActionResult[];
}

export interface DryRunFiring {
  sourceKey: string;
  crossingAt: string;
  firedAt: string;
  reason: string;
  outcome: 'fired' | 'skipped';
  skippedBecause: string | null;
  switches: SceneTarget[];
  actions: string[];
}

export interface DryRunResult {
  from: string;
  to: string;
  samples: number;
  firings: DryRunFiring[];
  notReplayed: string | null;
}

// ── the site's pause switch ──────────────────────────────────────────────────────────────────
export interface AutomationSettings {
  siteId: string;
  paused: boolean;
  changedBy: string | null;
  reason: string | null;
  updatedAt: string | null;
}

const id = encodeURIComponent;

export const schedulesApi = {
  list: (siteId: string, signal?: AbortSignal) =>
    request<ScheduleList>(`/sites/${id(siteId)}/schedules`, signal ? { signal } : {}),
  get: (scheduleId: string) => request<Schedule>(`/schedules/${id(scheduleId)}`),
  create: (siteId: string, body: ScheduleBody) =>
    request<Schedule>(`/sites/${id(siteId)}/schedules`, { body }),
  patch: (scheduleId: string, body: SchedulePatch) =>
    request<Schedule>(`/schedules/${id(scheduleId)}`, { method: 'PATCH', body }),
  remove: (scheduleId: string) => request<null>(`/schedules/${id(scheduleId)}`, { method: 'DELETE' }),
  occurrences: (scheduleId: string, count = 10) =>
    request<OccurrenceList>(`/schedules/${id(scheduleId)}/occurrences`, { query: { count } }),
  runs: (scheduleId: string, limit = 50) =>
    request<{ items: ScheduleRun[] }>(`/schedules/${id(scheduleId)}/runs`, { query: { limit } }),
};

export const scenesApi = {
  list: (siteId: string, signal?: AbortSignal) =>
    request<{ items: Scene[] }>(`/sites/${id(siteId)}/scenes`, signal ? { signal } : {}),
  get: (sceneId: string) => request<Scene>(`/scenes/${id(sceneId)}`),
  create: (siteId: string, body: SceneBody) => request<Scene>(`/sites/${id(siteId)}/scenes`, { body }),
  update: (sceneId: string, body: SceneBody) =>
    request<Scene>(`/scenes/${id(sceneId)}`, { method: 'PUT', body }),
  remove: (sceneId: string) => request<null>(`/scenes/${id(sceneId)}`, { method: 'DELETE' }),
  activate: (sceneId: string) =>
    request<Activation>(`/scenes/${id(sceneId)}/activate`, { method: 'POST', body: {} }),
  activations: (sceneId: string, limit = 20) =>
    request<{ items: Activation[] }>(`/scenes/${id(sceneId)}/activations`, { query: { limit } }),
  activation: (activationId: string) => request<Activation>(`/scene-activations/${id(activationId)}`),
};

export const rulesApi = {
  list: (siteId: string, signal?: AbortSignal) =>
    request<{ items: Rule[] }>(`/sites/${id(siteId)}/rules`, signal ? { signal } : {}),
  get: (ruleId: string) => request<Rule>(`/rules/${id(ruleId)}`),
  create: (siteId: string, body: RuleBody) => request<Rule>(`/sites/${id(siteId)}/rules`, { body }),
  update: (ruleId: string, body: RuleBody) => request<Rule>(`/rules/${id(ruleId)}`, { method: 'PUT', body }),
  remove: (ruleId: string) => request<null>(`/rules/${id(ruleId)}`, { method: 'DELETE' }),
  /** Replays an unsaved definition over the site's last 7 days of stored telemetry. */
  dryRun: (siteId: string, def: RuleDefinition) =>
    request<DryRunResult>(`/sites/${id(siteId)}/rules/dry-run`, { body: def }),
  dryRunSaved: (ruleId: string) =>
    request<DryRunResult>(`/rules/${id(ruleId)}/dry-run`, { method: 'POST', body: {} }),
  firings: (ruleId: string, limit = 50) =>
    request<{ items: Firing[] }>(`/rules/${id(ruleId)}/firings`, { query: { limit } }),
};

export const siteAutomationApi = {
  get: (siteId: string) => request<AutomationSettings>(`/sites/${id(siteId)}/automation`),
  set: (siteId: string, paused: boolean, reason?: string) =>
    request<AutomationSettings>(`/sites/${id(siteId)}/automation`, {
      method: 'PUT',
      body: { paused, ...(reason ? { reason } : {}) },
    }),
};
