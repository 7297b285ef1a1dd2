// Wire schemas of the unified namespace API: an org's opt-in and slug, and its MQTT readers.
import Type, { type Static } from 'typebox';

const Id = Type.String({ format: 'uuid' });
const Iso = Type.String({ format: 'date-time' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const OrgIdParams = Type.Object({ id: Id });
export const CredentialParams = Type.Object({ id: Id, credentialId: Id });

const Slug = Type.String({
  pattern: '^[a-z0-9]+(-[a-z0-9]+)*$',
  maxLength: 48,
  description: 'The org level of every topic: lower-case letters, digits and single dashes',
});

export const UnsSettings = Type.Object({
  orgId: Id,
  /** The org's opt-in: its readings are published only while this is true. */
  enabled: Type.Boolean(),
  slug: Slug,
  /** `wattfleet/v1/{slug}/`: what the org's readers may subscribe under (`…/#`). */
  topicPrefix: Type.String(),
  /** False when the hub itself has the export switched off (UNS_EXPORT=0). */
  hubEnabled: Type.Boolean(),
});
export type UnsSettings = Static<typeof UnsSettings>;

export const UnsSettingsBody = Type.Object(
  {
    enabled: Type.Boolean(),
    /** Omitted: keep the current slug (or derive one from the org's name the first time). */
    slug: Type.Optional(Slug),
  },
  { additionalProperties: false },
);
export type UnsSettingsBody = Static<typeof UnsSettingsBody>;

export const UnsCredential = Type.Object({
  id: Id,
  /** The MQTT user name (`uns-` and 12 hex digits); the client id must be it or start with `{it}-`. */
  username: Type.String(),
  label: Nullable(Type.String()),
  createdAt: Iso,
  revokedAt: Nullable(Iso),
});
export type UnsCredential = Static<typeof UnsCredential>;

export const UnsCredentialCreated = Type.Object({
  ...UnsCredential.properties,
  /** Shown once: the hub keeps only a hash. */
  password: Type.String(),
  topicPrefix: Type.String(),
});
export type UnsCredentialCreated = Static<typeof UnsCredentialCreated>;

export const UnsCredentialList = Type.Object({ credentials: Type.Array(UnsCredential) });

export const CreateCredentialBody = Type.Object(
  { label: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })) },
  { additionalProperties: false },
);
