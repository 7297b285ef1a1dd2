// Wire schemas of the installer-grant API: params, body and every response, used by the TypeBox
// type provider and the OpenAPI document (packages/web/src/api/users.ts reads them).
import Type, { type Static } from 'typebox';

export const GrantSiteParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
export const GrantParams = Type.Object({
  id: Type.String({ format: 'uuid' }),
  grantId: Type.String({ format: 'uuid' }),
});

export const GrantBody = Type.Object(
  {
    orgId: Type.String({ format: 'uuid', description: 'The installer org that gets access' }),
    expiresAt: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
  },
  { additionalProperties: false },
);
export type GrantBody = Static<typeof GrantBody>;

const Stamp = Type.String({ format: 'date-time' });
const NullableStamp = Type.Union([Stamp, Type.Null()]);

export const Grant = Type.Object({
  id: Type.String({ format: 'uuid' }),
  siteId: Type.String({ format: 'uuid' }),
  orgId: Type.String({ format: 'uuid', description: 'The installer org (grantee)' }),
  grantedBy: Type.Union([Type.String(), Type.Null()], { description: 'User id, or the kind of actor' }),
  createdAt: Stamp,
  expiresAt: NullableStamp,
  revokedAt: NullableStamp,
  active: Type.Boolean({ description: 'Not revoked and not expired' }),
});
export type Grant = Static<typeof Grant>;

export const GrantList = Type.Array(Grant);
