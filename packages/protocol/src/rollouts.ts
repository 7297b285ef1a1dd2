// Staged rollouts (issue 16.8): a plan to move selected nodes to one agent tag ring by ring
// (1 canary → 10 % → 100 %), each ring gated on the nodes coming back healthy on the new version,
// halting by itself when a ring's failure rate passes the threshold.
import Type, { type Static } from 'typebox';

const Uuid = Type.String({ format: 'uuid' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

/** A ring's cumulative size: a node count (the canary) or a percentage of the selected nodes. */
export const RolloutRing = Type.Union([
  Type.Object({ count: Type.Integer({ minimum: 1, maximum: 100000 }) }, { additionalProperties: false }),
  Type.Object(
    { percent: Type.Number({ exclusiveMinimum: 0, maximum: 100 }) },
    { additionalProperties: false },
  ),
]);
export type RolloutRing = Static<typeof RolloutRing>;

export const CreateRolloutBody = Type.Object(
  {
    /** Same pattern as SELF_UPDATE's tag. */
    tag: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$' }),
    nodeIds: Type.Array(Uuid, { minItems: 1, maxItems: 10000, uniqueItems: true }),
    /** Cumulative ring sizes in order; the last must reach every node. Default 1 → 10 % → 100 %. */
    rings: Type.Optional(Type.Array(RolloutRing, { minItems: 1, maxItems: 20 })),
    /** Wait after a ring settled healthy before the next ring starts. */
    ringWaitS: Type.Optional(Type.Integer({ minimum: 0, maximum: 7 * 86400 })),
    /** Health gate: a node counts as updated once it is online on the new version with no new error events or alerts for this long. */
    gateS: Type.Optional(Type.Integer({ minimum: 0, maximum: 86400 })),
    /** Halt when the share of failed nodes in a ring exceeds this (0 = any failure halts). */
    maxFailureRate: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  },
  { additionalProperties: false },
);
export type CreateRolloutBody = Static<typeof CreateRolloutBody>;

export const ROLLOUT_STATES = ['running', 'paused', 'halted', 'aborted', 'completed'] as const;
export const RolloutState = Type.Union([
  Type.Literal('running'),
  Type.Literal('paused'),
  Type.Literal('halted'),
  Type.Literal('aborted'),
  Type.Literal('completed'),
]);
export type RolloutState = (typeof ROLLOUT_STATES)[number];

export const ROLLOUT_NODE_STATES = [
  'waiting',
  'updating',
  'verifying',
  'succeeded',
  'failed',
  'skipped',
] as const;
export const RolloutNodeState = Type.Union([
  Type.Literal('waiting'),
  Type.Literal('updating'),
  Type.Literal('verifying'),
  Type.Literal('succeeded'),
  Type.Literal('failed'),
  Type.Literal('skipped'),
]);
export type RolloutNodeState = (typeof ROLLOUT_NODE_STATES)[number];

export const RolloutNode = Type.Object({
  nodeId: Uuid,
  nodeName: Type.String(),
  siteId: Uuid,
  ring: Type.Integer(),
  state: RolloutNodeState,
  commandId: Nullable(Uuid),
  fromVersion: Nullable(Type.String()),
  /** Why it failed (the agent's error code and message, or the health gate's finding). */
  reason: Nullable(Type.String()),
  startedAt: Nullable(Type.String({ format: 'date-time' })),
  settledAt: Nullable(Type.String({ format: 'date-time' })),
});
export type RolloutNode = Static<typeof RolloutNode>;

export const RolloutRingView = Type.Object({
  index: Type.Integer(),
  size: Type.Integer(),
  succeeded: Type.Integer(),
  failed: Type.Integer(),
  pending: Type.Integer(),
});

export const Rollout = Type.Object({
  id: Uuid,
  tag: Type.String(),
  state: RolloutState,
  rings: Type.Array(RolloutRing),
  ringWaitS: Type.Integer(),
  gateS: Type.Integer(),
  maxFailureRate: Type.Number(),
  currentRing: Type.Integer(),
  haltReason: Nullable(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
export type Rollout = Static<typeof Rollout>;

export const RolloutDetail = Type.Object({
  rollout: Rollout,
  ringSummary: Type.Array(RolloutRingView),
  nodes: Type.Array(RolloutNode),
});
export type RolloutDetail = Static<typeof RolloutDetail>;

export const RolloutList = Type.Object({ items: Type.Array(Rollout) });
export type RolloutList = Static<typeof RolloutList>;

export const RolloutParams = Type.Object({ id: Uuid });
export const RolloutAction = Type.Union([
  Type.Literal('pause'),
  Type.Literal('resume'),
  Type.Literal('abort'),
]);
export const RolloutActionParams = Type.Object({ id: Uuid, action: RolloutAction });
export type RolloutAction = Static<typeof RolloutAction>;
