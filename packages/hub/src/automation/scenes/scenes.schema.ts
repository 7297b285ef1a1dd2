// Wire schemas of scenes: a named preset of channel states on one site, its versions, and its
// activations with one result per target (pending until the node confirms, or failed / refused
// with the reason).
import { RelayStateSchema } from '@wattfleet/protocol';
import Type, { type Static } from 'typebox';

const Uuid = Type.String({ format: 'uuid' });
const Iso = Type.String({ format: 'date-time' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const SiteParams = Type.Object({ siteId: Uuid });
export const SceneParams = Type.Object({ id: Uuid });
export const ActivationParams = Type.Object({ id: Uuid });
export const ActivationListQuery = Type.Object(
  { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 20 })) },
  { additionalProperties: false },
);

export const SceneTarget = Type.Object(
  { channelId: Uuid, state: RelayStateSchema },
  { additionalProperties: false },
);

export const SceneBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
    ttlS: Type.Optional(
      Type.Integer({
        minimum: 10,
        maximum: 86_400,
        default: 600,
        description:
          "How long a target's switch waits for an offline node; after that it fails as expired (default 600 s)",
      }),
    ),
    targets: Type.Array(SceneTarget, {
      minItems: 1,
      maxItems: 64,
      description: 'Channels of the site and the state each is set to; each channel at most once',
    }),
  },
  { additionalProperties: false },
);
export type SceneBody = Static<typeof SceneBody>;

export const Scene = Type.Object({
  id: Uuid,
  siteId: Uuid,
  name: Type.String(),
  description: Nullable(Type.String()),
  version: Type.Integer({
    description: 'Goes up with every edit; activations and switches name the version',
  }),
  ttlS: Type.Integer(),
  targets: Type.Array(SceneTarget),
  createdAt: Iso,
  updatedAt: Iso,
});
export type Scene = Static<typeof Scene>;

export const NoContent = Type.Null({ description: 'Deleted' });

export const SceneList = Type.Object({ items: Type.Array(Scene) });
export type SceneList = Static<typeof SceneList>;

export const TargetOutcome = Type.Union(
  [
    Type.Literal('pending'),
    Type.Literal('confirmed'),
    Type.Literal('failed'),
    Type.Literal('refused'),
    Type.Literal('unchanged'),
  ],
  {
    description:
      'pending: sent, waiting for the node (an offline node gets it when it returns, unless the TTL expires); confirmed: the device reports the state; failed: it did not, or the command expired (see reason); refused: not sent (safety limit, automation paused, channel gone — see errorCode); unchanged: the channel was already in that state',
  },
);

export const ActivationTarget = Type.Object({
  channelId: Uuid,
  state: RelayStateSchema,
  outcome: TargetOutcome,
  errorCode: Nullable(Type.String()),
  reason: Nullable(Type.String()),
  commandId: Nullable(Uuid),
  updatedAt: Iso,
});
export type ActivationTarget = Static<typeof ActivationTarget>;

export const Activation = Type.Object({
  id: Uuid,
  sceneId: Uuid,
  siteId: Uuid,
  sceneName: Type.String(),
  sceneVersion: Type.Integer(),
  activatedBy: Type.String(),
  status: Type.Union(
    [Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('partial'), Type.Literal('failed')],
    {
      description:
        'pending: a target still waits; succeeded: every target is confirmed or unchanged; partial: some are, some failed or were refused; failed: none is',
    },
  ),
  createdAt: Iso,
  settledAt: Nullable(Iso),
  targets: Type.Array(ActivationTarget),
});
export type Activation = Static<typeof Activation>;

export const ActivationList = Type.Object({ items: Type.Array(Activation) });
export type ActivationList = Static<typeof ActivationList>;
