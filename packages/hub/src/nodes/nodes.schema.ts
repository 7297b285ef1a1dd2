// Wire schemas of the node API: params, bodies and every response, used by the TypeBox type
// provider (the routes' types come from here) and by the OpenAPI document. Enrollment's request
// and answer are the protocol's (the edge agent builds and reads them).
import { EnrollRequest, EnrollResponse, PublicKey } from '@wattfleet/protocol';
import Type, { type Static, type TSchema } from 'typebox';

export { EnrollRequest, EnrollResponse };

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Stamp = Type.String({ format: 'date-time' });

export const NodeIdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
export const SiteIdParams = Type.Object({ siteId: Type.String({ format: 'uuid' }) });
/** The public id of an enrollment code (from GET /fleet/enrollment-codes), never the code. */
export const CodeIdParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{32}$' }) });

export const CodeBody = Type.Object(
  {
    nodeName: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    ttlMinutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 30 * 24 * 60 })),
  },
  { additionalProperties: false },
);
export type CodeBody = Static<typeof CodeBody>;

/** A new enrollment code: the code itself is in this answer only (the hub stores its hash). */
export const CodeAnswer = Type.Object({
  code: Type.String({ description: 'Shown once, e.g. 7K3M-Q9TX-2ABD' }),
  siteId: Type.String(),
  nodeId: Nullable(Type.String({ description: 'The node a re-enrollment code is bound to' })),
  expiresAt: Stamp,
});
export type CodeAnswer = Static<typeof CodeAnswer>;

export const RevokedCode = Type.Object({
  id: Type.String(),
  siteId: Type.String(),
  nodeName: Nullable(Type.String()),
  state: Type.Literal('revoked'),
});
export type RevokedCode = Static<typeof RevokedCode>;

export const ActiveAnswer = Type.Object({ id: Type.String(), active: Type.Boolean() });

/** GET /nodes/{id}: the node's identity and health (the portal's node page reads every field). */
export const NodeInfo = Type.Object({
  id: Type.String({ format: 'uuid' }),
  site_id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  kind: Type.Union([Type.Literal('agent'), Type.Literal('plug'), Type.Literal('virtual')]),
  active: Type.Boolean(),
  status: Type.Union([Type.Literal('unknown'), Type.Literal('online'), Type.Literal('offline')]),
  status_reason: Nullable(Type.String()),
  last_seen_at: Nullable(Stamp),
  clock_offset_ms: Nullable(Type.Integer({ description: "Node clock minus the hub's, in ms" })),
  agent_version: Nullable(Type.String()),
  git_commit: Nullable(Type.String()),
  os_version: Nullable(Type.String()),
  created_at: Stamp,
  sample_interval_s: Nullable(
    Type.Number({ description: 'Seconds between reads, as the node reported it (0.5 is valid)' }),
  ),
  control_channel: Type.Boolean({
    description: 'The node has a live MQTT session (current heartbeats): commands can reach it',
  }),
});
export type NodeInfo = Static<typeof NodeInfo>;

export const RotateCredentialsBody = Type.Object({ publicKey: PublicKey }, { additionalProperties: false });

/** The node's new MQTT password, shown once (the hub keeps its hash). */
export const RotateCredentialsAnswer = Type.Object({
  mqtt: Type.Object({ username: Type.String(), password: Type.String() }),
});
export type RotateCredentialsAnswer = Static<typeof RotateCredentialsAnswer>;
