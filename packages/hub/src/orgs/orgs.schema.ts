// Wire schemas of the org API: request params and bodies and every response, used by the TypeBox
// type provider (the route types come from here) and by the OpenAPI document. Orgs answer as
// their database rows (snake_case), which is what the portal reads (packages/web/src/api/sites.ts).
import Type, { type Static } from 'typebox';

export const OrgKind = Type.Union([
  Type.Literal('operator'),
  Type.Literal('installer'),
  Type.Literal('household'),
]);
export type OrgKind = Static<typeof OrgKind>;

export const OrgParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export const OrgBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    kind: OrgKind,
  },
  { additionalProperties: false },
);
export type OrgBody = Static<typeof OrgBody>;

export const PatchOrgBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    kind: Type.Optional(OrgKind),
  },
  { additionalProperties: false },
);
export type PatchOrgBody = Static<typeof PatchOrgBody>;

export const Org = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  kind: OrgKind,
  created_at: Type.String({ format: 'date-time' }),
});

export const OrgList = Type.Array(Org);
