// Wire schemas of login, token refresh, logout, own profile and password change: bodies and every
// response, used by the TypeBox type provider and the OpenAPI document.
import Type, { type Static } from 'typebox';
import { User } from './users.schema.ts';

export const RefreshIn = Type.Union([Type.Literal('cookie'), Type.Literal('body')], {
  description: 'cookie: the refresh token comes back as an httpOnly cookie, never in the body (browsers)',
});

export const LoginBody = Type.Object(
  {
    email: Type.String({ minLength: 3, maxLength: 320 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
    refreshIn: Type.Optional(RefreshIn),
  },
  { additionalProperties: false },
);
export type LoginBody = Static<typeof LoginBody>;

export const RefreshBody = Type.Object(
  // Absent: the refresh token comes from the cookie.
  { refreshToken: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) },
  { additionalProperties: false },
);

export const PasswordBody = Type.Object(
  {
    currentPassword: Type.String({ minLength: 1, maxLength: 1024 }),
    newPassword: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false },
);
export type PasswordBody = Static<typeof PasswordBody>;

const tokenFields = {
  accessToken: Type.String({ description: 'JWT; send as Authorization: Bearer <token>' }),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer({ description: 'Seconds until the access token expires' }),
  refreshToken: Type.Optional(
    Type.String({ description: 'Absent when it was delivered as the wf_refresh cookie (refreshIn: cookie)' }),
  ),
};

export const TokenAnswer = Type.Object(tokenFields);

export const LoginAnswer = Type.Object({
  ...tokenFields,
  user: User,
  mustChangePassword: Type.Boolean({
    description:
      'A temporary password: only /auth/password, /auth/me and /auth/logout answer until it is changed',
  }),
});
