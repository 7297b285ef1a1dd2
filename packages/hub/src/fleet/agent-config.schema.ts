// Wire schemas of the agent config editor's API (validate a YAML text, read a node's applied
// config), used by the TypeBox type provider and the OpenAPI document.
import { CONFIG_LIMITS } from '@wattfleet/devices/config';
import Type, { type Static } from 'typebox';

export const ValidateBody = Type.Object(
  { config: Type.String({ maxLength: CONFIG_LIMITS.maxChars, description: 'The agent config, YAML' }) },
  { additionalProperties: false },
);
export type ValidateBody = Static<typeof ValidateBody>;

export const LocatedProblem = Type.Object({
  path: Type.String({ description: 'JSON pointer into the config, or "line L:C" for a YAML problem' }),
  message: Type.String(),
  code: Type.Optional(Type.String()),
  line: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], {
    description: '1-based line of the YAML text the problem is on; null when it has none',
  }),
});
export type LocatedProblem = Static<typeof LocatedProblem>;

export const ValidateResult = Type.Object({
  ok: Type.Boolean(),
  /** Empty when ok. */
  problems: Type.Array(LocatedProblem),
  /** Config migrations the agent would apply (an older version is migrated forward first). */
  migrations: Type.Array(Type.String()),
  /** Valid configs only: what the editor asks to confirm before a push. */
  summary: Type.Optional(
    Type.Object({
      hubUrl: Type.String({ description: 'The hub the node will connect to' }),
      sources: Type.Integer({ minimum: 0, description: 'How many sources it will read' }),
    }),
  ),
});
export type ValidateResult = Static<typeof ValidateResult>;

export const NodeParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export const NodeConfig = Type.Object({
  nodeId: Type.String({ format: 'uuid' }),
  /** The CONFIG_PUSH command that delivered it. */
  commandId: Type.String({ format: 'uuid' }),
  appliedAt: Type.String({ format: 'date-time' }),
  config: Type.String(),
});
export type NodeConfig = Static<typeof NodeConfig>;
