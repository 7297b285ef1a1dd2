// The agent's configuration schema (current version). Unknown keys are refused everywhere so a
// typo is an error listed on the local page, never a silently ignored setting.
import Type, { type Static } from 'typebox';

export const CONFIG_VERSION = 2;

const strict = { additionalProperties: false } as const;
/** A section that may be left out entirely: its defaults fill it in. */
const section = { additionalProperties: false, default: {} } as const;
const GiB = 1024 ** 3;

export const HubSection = Type.Object(
  {
    url: Type.String({ pattern: '^https?://', description: 'Hub base URL' }),
    transport: Type.Union([Type.Literal('http'), Type.Literal('mqtt')], { default: 'http' }),
    /** Control channel and (with transport mqtt) telemetry; enrollment may supply it too. */
    mqttUrl: Type.Optional(Type.String({ pattern: '^(mqtts?|wss?)://' })),
    /** Allows plain http:// / mqtt:// to a hub on another machine (see transport-security.ts). */
    allowInsecure: Type.Boolean({ default: false }),
  },
  strict,
);

/** Each source section is validated by its own factory's schema; here only what every source has. */
export const SourceSection = Type.Object(
  {
    type: Type.String({ minLength: 1, maxLength: 64 }),
    key: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }),
  },
  { additionalProperties: true },
);

export const AgentConfig = Type.Object(
  {
    version: Type.Literal(CONFIG_VERSION),
    hub: HubSection,
    identity: Type.Object(
      { path: Type.String({ minLength: 1, default: '/var/lib/wattfleet/identity.json' }) },
      section,
    ),
    site: Type.Object(
      {
        lat: Type.Number({ minimum: -90, maximum: 90 }),
        lon: Type.Number({ minimum: -180, maximum: 180 }),
        timezone: Type.String({ minLength: 1, maxLength: 64 }),
      },
      strict,
    ),
    sources: Type.Array(SourceSection, { default: [] }),
    poll: Type.Object({ intervalS: Type.Number({ minimum: 0.1, maximum: 3600, default: 5 }) }, section),
    outbox: Type.Object(
      {
        path: Type.String({ minLength: 1, default: '/var/lib/wattfleet/outbox.db' }),
        maxBytes: Type.Integer({ minimum: 1024 * 1024, default: GiB }),
        retention: Type.Object(
          {
            rawDays: Type.Integer({ minimum: 1, maximum: 365, default: 7 }),
            dailyDays: Type.Integer({ minimum: 1, maximum: 3650, default: 365 }),
          },
          section,
        ),
      },
      section,
    ),
    uplink: Type.Object(
      {
        batchMaxSamples: Type.Integer({ minimum: 1, maximum: 5000, default: 500 }),
        batchMaxAgeMs: Type.Integer({ minimum: 50, maximum: 60_000, default: 1000 }),
        liveIntervalS: Type.Number({ minimum: 1, maximum: 300, default: 5 }),
      },
      section,
    ),
    dashboard: Type.Object(
      {
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 8081 }),
        // Loopback by default: the dashboard shows the site's live values to anyone who reaches it.
        host: Type.String({ default: '127.0.0.1' }),
        /** Local token for anything beyond reading (POST actions); without it those are refused. */
        token: Type.Optional(Type.String({ minLength: 16, maxLength: 200 })),
      },
      section,
    ),
    tunnel: Type.Optional(
      Type.Object(
        {
          host: Type.String({ pattern: '^[A-Za-z0-9.-]{1,253}$' }),
          user: Type.String({ pattern: '^[a-z_][a-z0-9_-]{0,31}$' }),
          port: Type.Integer({ minimum: 1, maximum: 65535, default: 22 }),
          remotePortMin: Type.Integer({ minimum: 1024, maximum: 65535 }),
          remotePortMax: Type.Integer({ minimum: 1024, maximum: 65535 }),
        },
        strict,
      ),
    ),
    update: Type.Optional(
      Type.Object(
        {
          repo: Type.String({ minLength: 1 }),
          releasesDir: Type.String({ minLength: 1 }),
        },
        strict,
      ),
    ),
    /** When the agent tells the hub something is wrong (events the hub's alert rules read). */
    health: Type.Object(
      {
        /** Consecutive failed reads before a source is reported unreachable. */
        unreachableAfter: Type.Integer({ minimum: 1, maximum: 1000, default: 3 }),
        /** This many error log lines within errorBurstWindowS make one error_burst event. */
        errorBurstLines: Type.Integer({ minimum: 2, maximum: 10_000, default: 10 }),
        errorBurstWindowS: Type.Integer({ minimum: 10, maximum: 86_400, default: 600 }),
      },
      section,
    ),
    automation: Type.Object(
      {
        /**
         * Offer this node's channels for edge execution (schedules run by the agent from a bundle
         * the hub pushes, also while the hub is unreachable). false keeps every schedule on the hub.
         */
        edgeExecution: Type.Boolean({ default: true }),
      },
      section,
    ),
    logging: Type.Object(
      {
        level: Type.Union(
          ['fatal', 'error', 'warn', 'info', 'debug', 'trace'].map((l) => Type.Literal(l)),
          { default: 'info' },
        ),
        /** A file FETCH_LOGS can read back; without it logs go to stdout (journald) only. */
        file: Type.Optional(Type.String({ minLength: 1 })),
      },
      section,
    ),
  },
  strict,
);
export type AgentConfig = Static<typeof AgentConfig>;
