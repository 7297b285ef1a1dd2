// Wire schemas of the user API (and the user inside login and /auth/me answers): request params,
// query and bodies and every response, used by the TypeBox type provider and the OpenAPI
// document. Users answer in camelCase without the password hash (packages/web/src/api/users.ts).
import { ROLES, type Role } from '@wattfleet/protocol';
import Type, { type Static } from 'typebox';

/** One of the roles (protocol's ROLES); typed as Role for the type provider. */
export const RoleSchema = Type.Unsafe<Role>(Type.Union(ROLES.map((r) => Type.Literal(r))));

export const UserParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
export const UsersQuery = Type.Object({ orgId: Type.Optional(Type.String({ format: 'uuid' })) });

export const CreateUserBody = Type.Object(
  {
    orgId: Type.String({ format: 'uuid' }),
    email: Type.String({ minLength: 3, maxLength: 320, pattern: '^[^@\\s]+@[^@\\s]+$' }),
    name: Type.Optional(Type.String({ maxLength: 200 })),
    role: RoleSchema,
    password: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    /**
     * A password chosen by someone else is temporary by default: the user must replace it before
     * anything else answers. An admin may say otherwise for a password they gave (service accounts,
     * scripts); a generated password is always temporary.
     */
    mustChangePassword: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type CreateUserBody = Static<typeof CreateUserBody>;

export const PatchUserBody = Type.Object(
  {
    name: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
    role: Type.Optional(RoleSchema),
    disabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type PatchUserBody = Static<typeof PatchUserBody>;

export const ResetBody = Type.Object(
  {
    password: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    /** As on creation: temporary unless the admin gave the password and says otherwise. */
    mustChangePassword: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type ResetBody = Static<typeof ResetBody>;

const Stamp = Type.String({ format: 'date-time' });

export const User = Type.Object({
  id: Type.String({ format: 'uuid' }),
  orgId: Type.String({ format: 'uuid' }),
  email: Type.String(),
  name: Type.Union([Type.String(), Type.Null()]),
  role: RoleSchema,
  disabled: Type.Boolean(),
  mustChangePassword: Type.Boolean({ description: 'The user must set a new password before anything else' }),
  lastLoginAt: Type.Union([Stamp, Type.Null()]),
  createdAt: Stamp,
});
export type PublicUser = Static<typeof User>;

export const UserList = Type.Array(User);

export const CreatedUser = Type.Object({
  ...User.properties,
  temporaryPassword: Type.Optional(
    Type.String({ description: 'Only when the hub generated the password: shown once' }),
  ),
});

export const ResetAnswer = Type.Object({
  temporaryPassword: Type.String({ description: 'The new password (generated or as given): shown once' }),
  mustChangePassword: Type.Boolean(),
});

/** A user row (without its hash) as the API shows it. */
export function publicUser(u: {
  id: string;
  org_id: string;
  email: string;
  name: string | null;
  role: Role;
  disabled_at: Date | null;
  must_change_password: boolean;
  last_login_at: Date | null;
  created_at: Date;
}): PublicUser {
  return {
    id: u.id,
    orgId: u.org_id,
    email: u.email,
    name: u.name,
    role: u.role,
    disabled: u.disabled_at !== null,
    mustChangePassword: u.must_change_password,
    lastLoginAt: u.last_login_at ? new Date(u.last_login_at).toISOString() : null,
    createdAt: new Date(u.created_at).toISOString(),
  };
}
