// Node enrollment: a one-time code bound to a site is exchanged for a node identity.
import Type, { type Static } from 'typebox';
import { PollIntervalS } from './messages.ts';

/** Ed25519 public key, raw 32 bytes, base64url without padding (JWK `x`). */
export const PublicKey = Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' });

export const EnrollRequest = Type.Object(
  {
    code: Type.String({ minLength: 6, maxLength: 64 }),
    publicKey: PublicKey,
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    agentVersion: Type.Optional(Type.String({ maxLength: 64 })),
    /** The agent's poll interval, so completeness is judged against it from the first day. */
    pollIntervalS: Type.Optional(PollIntervalS),
  },
  { additionalProperties: false },
);
export type EnrollRequest = Static<typeof EnrollRequest>;

/** Shown once: the hub keeps only the public key and a hash of the MQTT password. */
export const EnrollResponse = Type.Object({
  nodeId: Type.String(),
  siteId: Type.String(),
  mqtt: Type.Object({
    username: Type.String(),
    password: Type.String(),
    url: Type.Optional(Type.String()),
  }),
  hubTime: Type.Integer(),
});
export type EnrollResponse = Static<typeof EnrollResponse>;
