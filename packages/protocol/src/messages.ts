// Wire formats between node and hub (HTTP bodies and MQTT payloads share these schemas).
import Type, { type Static } from 'typebox';
import { DeviceData, DeviceDate, DeviceText } from './device-input.ts';

/** Limits that bound what one message may carry. */
export const LIMITS = {
  telemetrySamplesPerBatch: 5000,
  eventsPerBatch: 1000,
  dailySummariesPerBatch: 400,
  logLinesPerUpload: 5000,
  logLineLength: 4000,
  /** Values beyond this magnitude are refused: no real meter reads 10^12 W or Wh. */
  maxAbsValue: 1e12,
  /** Sample timestamps may not be further in the future than this (clock skew allowance). */
  maxFutureSkewMs: 10 * 60_000,
} as const;

/** Stable id a node gives a batch when it forms it; a resend carries the same id. */
export const BatchId = Type.String({ pattern: '^[A-Za-z0-9._:-]{8,100}$', description: 'Stable batch id' });

/** Epoch milliseconds, or an RFC 3339 timestamp with an offset; the hub normalises to UTC. */
export const Timestamp = Type.Union([
  Type.Integer({ minimum: 946684800000, maximum: 4102444800000, description: 'epoch ms' }),
  Type.String({ format: 'date-time', maxLength: 40 }),
]);

export const MetricName = Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$' });
export const EquipmentKey = Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' });

export const Sample = Type.Object(
  {
    metric: MetricName,
    ts: Timestamp,
    value: Type.Number(),
    /** Which equipment behind the node produced it; empty means the node itself. */
    equipment: Type.Optional(EquipmentKey),
  },
  { additionalProperties: false },
);
export type Sample = Static<typeof Sample>;

export const TelemetryBatch = Type.Object(
  {
    batchId: BatchId,
    /**
     * Per-node batch sequence number, assigned by the agent when it forms the batch (1, 2, 3, …,
     * persisted in its outbox; a resend keeps it). The hub detects a lost batch from a hole in
     * the sequence. Optional: agents before it send none.
     */
    seq: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
    samples: Type.Array(Sample, { minItems: 1, maxItems: LIMITS.telemetrySamplesPerBatch }),
  },
  { additionalProperties: false },
);
export type TelemetryBatch = Static<typeof TelemetryBatch>;

export const DailyValues = Type.Object(
  {
    solar_kwh: Type.Optional(Type.Number({ minimum: 0 })),
    load_kwh: Type.Optional(Type.Number({ minimum: 0 })),
    grid_import_kwh: Type.Optional(Type.Number({ minimum: 0 })),
    grid_export_kwh: Type.Optional(Type.Number({ minimum: 0 })),
    battery_charge_kwh: Type.Optional(Type.Number({ minimum: 0 })),
    battery_discharge_kwh: Type.Optional(Type.Number({ minimum: 0 })),
  },
  { additionalProperties: false },
);
export type DailyValues = Static<typeof DailyValues>;

export const DailySummary = Type.Object(
  {
    /** Local calendar date at the site. */
    date: DeviceDate(),
    equipment: Type.Optional(EquipmentKey),
    values: DailyValues,
  },
  { additionalProperties: false },
);
export type DailySummary = Static<typeof DailySummary>;

export const DailyBatch = Type.Object(
  {
    batchId: BatchId,
    days: Type.Array(DailySummary, { minItems: 1, maxItems: LIMITS.dailySummariesPerBatch }),
  },
  { additionalProperties: false },
);
export type DailyBatch = Static<typeof DailyBatch>;

export const EventSeverity = Type.Union([
  Type.Literal('info'),
  Type.Literal('warning'),
  Type.Literal('error'),
  Type.Literal('critical'),
]);
export type EventSeverity = Static<typeof EventSeverity>;

/** A health or state change seen by the node (equipment not responding, update failed, …). */
export const NodeEvent = Type.Object(
  {
    ts: Timestamp,
    kind: Type.String({ pattern: '^[a-z][a-z0-9_.]{0,62}$', description: 'e.g. equipment.unreachable' }),
    severity: EventSeverity,
    equipment: Type.Optional(EquipmentKey),
    message: DeviceText({ maxLength: 2000 }),
    data: Type.Optional(DeviceData()),
  },
  { additionalProperties: false },
);
export type NodeEvent = Static<typeof NodeEvent>;

/**
 * Event kinds the agent emits and the hub's alert rules read (one list, so neither side can
 * misspell the other). Other kinds are accepted and kept as history.
 */
export const EVENT_KINDS = {
  /** `equipment` = the source key; data.failures = consecutive failed reads, data.error. */
  equipmentUnreachable: 'equipment.unreachable',
  equipmentReachable: 'equipment.reachable',
  /** data = ChannelInventory (equipment.ts): the switchable channels the node has, on start and reload */
  channelInventory: 'channels.inventory',
  /** data = EquipmentInventory (equipment.ts): every configured equipment, on start, reload and when its identity or metrics change */
  equipmentInventory: 'equipment.inventory',
  /** data.from / data.to = versions (tags); data.reason on failure. */
  updateStarted: 'update.started',
  updateSucceeded: 'update.succeeded',
  updateFailed: 'update.failed',
  updateRolledBack: 'update.rolled_back',
  /** A CONFIG_PUSH applied and healthy (clears config_rolled_back); data.health. */
  configApplied: 'config.applied',
  /** A CONFIG_PUSH failed its apply or health check and the previous config is back; data.reason. */
  configRolledBack: 'config.rolled_back',
  /** data.reason = crash | command | watchdog | os_reboot | update | stopped | first_start. */
  agentRestarted: 'agent.restarted',
  /** data.count = error log lines within data.windowS; data.samples = a few of them. */
  errorBurst: 'log.error_burst',
  /** data.offsetMs = node − hub clock. */
  clockUnsynchronised: 'clock.unsynchronised',
  clockSynchronised: 'clock.synchronised',
  /** The OS says its clock is not NTP-synchronised (data.via = timedatectl | chronyc, data.detail). */
  ntpUnsynchronised: 'clock.ntp_unsynchronised',
  ntpSynchronised: 'clock.ntp_synchronised',
  /** data = AutomationExecution (automation.ts): one schedule/rule occurrence the node handled. */
  automationExecution: 'automation.execution',
  /** An AUTOMATION_PUSH loaded and healthy; data.version. */
  automationApplied: 'automation.applied',
  /** An AUTOMATION_PUSH failed and the previous bundle is back; data.version, data.reason. */
  automationRolledBack: 'automation.rolled_back',
} as const;

export const RESTART_REASONS = [
  'crash',
  'command',
  'watchdog',
  'os_reboot',
  'update',
  'stopped',
  'first_start',
] as const;
export type RestartReason = (typeof RESTART_REASONS)[number];

export const EventBatch = Type.Object(
  {
    batchId: BatchId,
    events: Type.Array(NodeEvent, { minItems: 1, maxItems: LIMITS.eventsPerBatch }),
  },
  { additionalProperties: false },
);
export type EventBatch = Static<typeof EventBatch>;

/** Seconds between two reads of a node's equipment (the agent's poll.intervalS). */
export const PollIntervalS = Type.Number({ minimum: 0.1, maximum: 86_400 });

/** Heartbeat on nodes/{id}/status. The last will is the same shape with state 'offline'. */
export const NodeStatus = Type.Object(
  {
    state: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
    /** The node's own clock when it sent this (epoch ms), for drift detection. */
    clock: Type.Integer({ minimum: 0 }),
    reason: Type.Optional(DeviceText({ maxLength: 200 })),
    agentVersion: Type.Optional(DeviceText({ maxLength: 64 })),
    gitCommit: Type.Optional(DeviceText({ maxLength: 64 })),
    osVersion: Type.Optional(DeviceText({ maxLength: 200 })),
    lastRebootAt: Type.Optional(Type.Integer({ minimum: 0 })),
    uptimeS: Type.Optional(Type.Number({ minimum: 0 })),
    diskFreeBytes: Type.Optional(Type.Number({ minimum: 0 })),
    memFreeBytes: Type.Optional(Type.Number({ minimum: 0 })),
    memTotalBytes: Type.Optional(Type.Number({ minimum: 0 })),
    cpuTempC: Type.Optional(Type.Number()),
    outboxDepth: Type.Optional(Type.Integer({ minimum: 0 })),
    outboxDropped: Type.Optional(Type.Integer({ minimum: 0 })),
    configVersion: Type.Optional(DeviceText({ maxLength: 100 })),
    /** How often the node reads its equipment: the hub's expectation for data completeness. */
    pollIntervalS: Type.Optional(PollIntervalS),
    /** The node's own estimate of its clock offset from the hub's (ms, node − hub), when it has one. */
    clockOffsetMs: Type.Optional(Type.Integer({ minimum: -4_102_444_800_000, maximum: 4_102_444_800_000 })),
  },
  { additionalProperties: false },
);
export type NodeStatus = Static<typeof NodeStatus>;

/** Live snapshot on nodes/{id}/live: the latest value per metric, fanned out, never stored. */
export const LiveSnapshot = Type.Object(
  {
    ts: Type.Integer({ minimum: 0 }),
    values: Type.Record(MetricName, Type.Number()),
    equipment: Type.Optional(Type.Record(EquipmentKey, Type.Record(MetricName, Type.Number()))),
  },
  { additionalProperties: false },
);
export type LiveSnapshot = Static<typeof LiveSnapshot>;

/** One chunk of log lines uploaded for FETCH_LOGS. */
export const LogUpload = Type.Object(
  {
    commandId: Type.Optional(Type.String({ format: 'uuid' })),
    // Bounded: the column is int4, and no log needs a million chunks.
    chunk: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
    final: Type.Boolean(),
    lines: Type.Array(DeviceText({ maxLength: LIMITS.logLineLength }), {
      maxItems: LIMITS.logLinesPerUpload,
    }),
  },
  { additionalProperties: false },
);
export type LogUpload = Static<typeof LogUpload>;

export const Broadcast = Type.Object(
  {
    ts: Type.Integer({ minimum: 0 }),
    kind: Type.String({ maxLength: 64 }),
    message: Type.String({ maxLength: 2000 }),
  },
  { additionalProperties: false },
);
export type Broadcast = Static<typeof Broadcast>;
