// Wire schemas of the portal's fleet routes (the fleet overview and the enrollment codes list):
// the TypeBox type provider types the routes from these, and the OpenAPI document shows them.
import Type, { type Static, type TSchema } from 'typebox';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Stamp = Type.String({ format: 'date-time' });
const SeverityName = Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('critical')]);

export const FleetQuery = Type.Object(
  {
    site: Type.Optional(
      Type.String({ format: 'uuid', description: "Only this site's row (its page shows the same health)" }),
    ),
  },
  { additionalProperties: false },
);

export const FleetNode = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  status: Type.Union([Type.Literal('unknown'), Type.Literal('online'), Type.Literal('offline')]),
  active: Type.Boolean(),
  agentVersion: Nullable(Type.String()),
  controlChannel: Type.Boolean({
    description: 'False for a node that may look alive (HTTP uploads) but has no MQTT session',
  }),
});

export const FleetSite = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  timezone: Type.String(),
  status: Type.Union([Type.Literal('commissioning'), Type.Literal('active'), Type.Literal('decommissioned')]),
  orgId: Type.String({ format: 'uuid' }),
  installerOrg: Nullable(Type.Object({ id: Type.String(), name: Type.String() })),
  nodes: Type.Object(
    { online: Type.Integer(), offline: Type.Integer(), unknown: Type.Integer(), total: Type.Integer() },
    { description: 'Active nodes by status (deactivated nodes count for nothing)' },
  ),
  nodeList: Type.Array(FleetNode, { description: 'Every node of the site, deactivated ones included' }),
  lastCommunication: Nullable(Stamp),
  openAlerts: Type.Integer(),
  worstSeverity: Nullable(SeverityName),
  health: Type.Union([
    Type.Literal('Alerting'),
    Type.Literal('Offline'),
    Type.Literal('Commissioning'),
    Type.Literal('Healthy'),
  ]),
});
export type FleetSiteRow = Static<typeof FleetSite>;
export const FleetSiteList = Type.Array(FleetSite);

const CodeState = Type.Union([
  Type.Literal('pending'),
  Type.Literal('used'),
  Type.Literal('expired'),
  Type.Literal('revoked'),
]);
export type EnrollmentCodeState = Static<typeof CodeState>;

export const CodeListQuery = Type.Object(
  {
    siteId: Type.Optional(Type.String({ format: 'uuid' })),
    state: Type.Optional(Type.Union([...CodeState.anyOf, Type.Literal('all')])),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
  },
  { additionalProperties: false },
);
export type CodeListQuery = Static<typeof CodeListQuery>;

export const EnrollmentCode = Type.Object({
  id: Type.String({ description: 'Public id (for POST /fleet/enrollment-codes/{id}/revoke), not the code' }),
  siteId: Type.String({ format: 'uuid' }),
  siteName: Type.String(),
  nodeName: Nullable(Type.String()),
  createdBy: Nullable(Type.String()),
  createdAt: Stamp,
  expiresAt: Stamp,
  usedAt: Nullable(Stamp),
  revokedAt: Nullable(Stamp),
  nodeId: Nullable(
    Type.String({ description: 'The node enrolled with it, or the node a re-enrollment code is bound to' }),
  ),
  state: CodeState,
});
export type EnrollmentCodeRow = Static<typeof EnrollmentCode>;
export const EnrollmentCodeList = Type.Array(EnrollmentCode);
