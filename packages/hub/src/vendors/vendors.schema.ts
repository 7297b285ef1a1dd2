// Wire schemas of the vendor API: request params/query/bodies and every response, used by the
// TypeBox type provider (types in the routes come from here) and by the OpenAPI document.
// Credentials appear only in request bodies; no response schema has a field that could carry one.
import Type, { type Static } from 'typebox';
import { BlueprintCredentials } from './adapters/blueprint.ts';
import { EnphaseCredentials } from './adapters/enphase.ts';
import { SelectLiveCredentials } from './adapters/select-live.ts';

export const VendorName = Type.Union([
  Type.Literal('select_live'),
  Type.Literal('enphase'),
  Type.Literal('blueprint'),
]);

export const SiteParams = Type.Object({ siteId: Type.String({ format: 'uuid' }) });
export const AccountParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
export const LogQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
});

const ExternalId = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9._-]+$',
  description: "The vendor's system number / id",
});

export const SelectLiveSettings = Type.Object(
  {
    gridImportSign: Type.Optional(
      Type.Union([Type.Literal('negative'), Type.Literal('positive')], {
        description: "Sign of select.live's grid_w while importing (measured: negative)",
      }),
    ),
    batteryChargeSign: Type.Optional(
      Type.Union([Type.Literal('negative'), Type.Literal('positive')], {
        description: "Sign of select.live's battery_w while charging (measured: negative)",
      }),
    ),
  },
  { additionalProperties: false },
);

const Name = Type.Optional(Type.String({ minLength: 1, maxLength: 200 }));

/** One connection target per vendor: what the owner enters. */
export const ConnectionRequest = Type.Union([
  Type.Object(
    { vendor: Type.Literal('select_live'), externalId: ExternalId, credentials: SelectLiveCredentials },
    { additionalProperties: false },
  ),
  Type.Object(
    { vendor: Type.Literal('enphase'), externalId: ExternalId, credentials: EnphaseCredentials },
    { additionalProperties: false },
  ),
  Type.Object(
    { vendor: Type.Literal('blueprint'), externalId: ExternalId, credentials: BlueprintCredentials },
    { additionalProperties: false },
  ),
]);
export type ConnectionRequest = Static<typeof ConnectionRequest>;

/** A connection target plus the account's name and settings. */
export const CreateAccountBody = Type.Union([
  Type.Object(
    {
      vendor: Type.Literal('select_live'),
      externalId: ExternalId,
      credentials: SelectLiveCredentials,
      name: Name,
      settings: Type.Optional(SelectLiveSettings),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { vendor: Type.Literal('enphase'), externalId: ExternalId, credentials: EnphaseCredentials, name: Name },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      vendor: Type.Literal('blueprint'),
      externalId: ExternalId,
      credentials: BlueprintCredentials,
      name: Name,
    },
    { additionalProperties: false },
  ),
]);
export type CreateAccountBody = Static<typeof CreateAccountBody>;

/** Enphase OAuth: where to send the owner, and the code the owner comes back with. */
export const EnphaseAuthorizeUrlQuery = Type.Object({
  redirectUri: Type.Optional(
    Type.String({ format: 'uri', description: 'Defaults to the hub setting ENPHASE_REDIRECT_URI' }),
  ),
});
export const EnphaseAuthorizeUrl = Type.Object({
  url: Type.String({ description: "Enphase's authorisation page for this application" }),
  redirectUri: Type.String(),
});
export const EnphaseAuthorizeBody = Type.Object(
  {
    code: Type.String({ minLength: 1, maxLength: 500, description: 'The code Enphase handed back' }),
    redirectUri: Type.Optional(
      Type.String({ format: 'uri', description: 'The redirect URI the code was issued for' }),
    ),
  },
  { additionalProperties: false },
);
export type EnphaseAuthorizeBody = Static<typeof EnphaseAuthorizeBody>;
export const EnphaseGrant = Type.Object({
  grant: Type.String({
    format: 'uuid',
    description:
      'Pass as credentials.grant to add (or re-authorise) an account of this site; the tokens stay in the vault',
  }),
  systems: Type.Array(
    Type.Object({
      externalId: Type.String(),
      name: Type.Optional(Type.String()),
      timezone: Type.Optional(Type.String()),
      status: Type.Optional(Type.String()),
    }),
  ),
});
export type EnphaseGrant = Static<typeof EnphaseGrant>;

export const PatchAccountBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    settings: Type.Optional(SelectLiveSettings),
    siteTopic: Type.Optional(
      Type.Boolean({
        description:
          "Also publish this system's live readings on sites/{siteId}/live (home automation); off by default",
      }),
    ),
    paused: Type.Optional(
      Type.Boolean({
        description:
          'true: no hub polls this account (its credentials and data stay) until it is resumed with false',
      }),
    ),
  },
  { additionalProperties: false },
);
export type PatchAccountBody = Static<typeof PatchAccountBody>;

/** New credentials for an existing account; checked against its vendor's schema in the service. */
export const RotateCredentialsBody = Type.Object(
  { credentials: Type.Record(Type.String(), Type.String({ maxLength: 2000 })) },
  { additionalProperties: false },
);
export type RotateCredentialsBody = Static<typeof RotateCredentialsBody>;

export const SystemInfo = Type.Object({
  externalId: Type.String(),
  name: Type.Optional(Type.String()),
  model: Type.Optional(Type.String()),
  serial: Type.Optional(Type.String()),
  sizeW: Type.Optional(Type.Number()),
  timezone: Type.Optional(Type.String()),
});
export type SystemInfo = Static<typeof SystemInfo>;

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Stamp = Type.String({ format: 'date-time' });

export const Account = Type.Object({
  id: Type.String({ format: 'uuid' }),
  siteId: Type.String({ format: 'uuid' }),
  nodeId: Type.String({ format: 'uuid', description: "The virtual node that carries this account's data" }),
  vendor: VendorName,
  name: Type.String(),
  externalId: Type.String(),
  status: Type.Union([
    Type.Literal('active'),
    Type.Literal('credentials_rejected'),
    Type.Literal('reauthorise'),
  ]),
  statusMessage: Nullable(Type.String()),
  settings: Type.Record(Type.String(), Type.Unknown()),
  systemInfo: SystemInfo,
  health: Type.Union([
    Type.Literal('ok'),
    Type.Literal('failing'),
    Type.Literal('rejected'),
    Type.Literal('new'),
  ]),
  breaker: Type.Union([Type.Literal('closed'), Type.Literal('open'), Type.Literal('half_open')]),
  consecutiveFailures: Type.Integer(),
  paused: Type.Boolean({ description: 'Polling paused by a user (PATCH paused)' }),
  lastPollAt: Nullable(Stamp),
  nextPollAt: Nullable(
    Type.String({
      format: 'date-time',
      description:
        'When the next poll is due: exact from the hub that polls the account, else estimated from its slot, backoff and breaker; null while paused or while the credentials are rejected',
    }),
  ),
  lastOutcome: Nullable(
    Type.String({ description: "The last poll's outcome (as in the connection log), null before the first" }),
  ),
  lastSuccessAt: Nullable(Stamp),
  failingSince: Nullable(Stamp),
  lastError: Nullable(Type.String()),
  notices: Type.Array(Type.Object({ name: Type.String(), message: Type.String(), since: Type.Number() })),
  uptime: Type.Object({
    dayPct: Nullable(
      Type.Number({ description: 'Share of polls answered in the last 24 h (maintenance excluded)' }),
    ),
    weekPct: Nullable(Type.Number()),
  }),
  createdAt: Stamp,
});
export type Account = Static<typeof Account>;

export const AccountList = Type.Array(Account);

export const LogEntry = Type.Object({
  at: Stamp,
  outcome: Type.String({
    description:
      'ok, slow, maintenance, budget, rate_limited, unavailable, protocol, credentials, reauthorise',
  }),
  httpStatus: Nullable(Type.Integer()),
  error: Nullable(Type.String()),
  responseMs: Nullable(Type.Integer()),
});
export const LogList = Type.Array(LogEntry);

export const VendorList = Type.Array(Type.Object({ vendor: VendorName, label: Type.String() }));
