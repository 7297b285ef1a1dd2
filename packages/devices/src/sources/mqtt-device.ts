// The `mqtt-device` source's config section: a device on the site's LAN that speaks MQTT itself
// (Shelly Gen2+ plugs and relays, Tasmota firmware), read and switched through a template
// (`<templates>/mqtt/<name>.yaml`: topics, JSON paths and command payloads as data). The agent
// connects to the LAN's broker, or runs a small embedded one for sites without a broker.
import Type, { type Static } from 'typebox';
import { EquipmentIdentityConfig, EquipmentKindSchema } from './equipment.ts';

/** A topic fragment from config: no wildcards, no leading slash, no `$` system topics. */
const TopicPrefix = Type.String({
  pattern: '^(?![/$])[^#+\\u0000]{1,128}$',
  description:
    "the device's topic prefix (Shelly: its topic_prefix, default its device id; Tasmota: its Topic)",
});

const Credentials = {
  username: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  password: Type.Optional(Type.String({ maxLength: 256 })),
};

export const LocalBrokerConfig = Type.Union([
  Type.Object(
    {
      /** The LAN's broker: mqtt://host[:port] or mqtts://host[:port]. */
      url: Type.String({ pattern: '^mqtts?://[^\\s/]+(:[0-9]{1,5})?/?$', maxLength: 300 }),
      ...Credentials,
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      /** A broker the agent runs itself, for the devices to connect to. */
      embedded: Type.Object(
        {
          /** Where it listens: the agent's LAN address (0.0.0.0: every interface). */
          host: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
          port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
          /** When set, devices must log in with these (set the same in each device's MQTT page). */
          ...Credentials,
        },
        { additionalProperties: false },
      ),
    },
    { additionalProperties: false },
  ),
]);
export type LocalBrokerConfig = Static<typeof LocalBrokerConfig>;

export const MqttDeviceConfig = Type.Object(
  {
    key: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }),
    /** Template name: `shelly-gen2`, `tasmota`, or your own file in templates/mqtt/. */
    template: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,63}$' }),
    prefix: TopicPrefix,
    broker: LocalBrokerConfig,
    /**
     * The device's relay channels as the template names them (Shelly: switch ids "0", "1", …;
     * Tasmota: "" for a single relay, "1", "2", … for several). Default: the template's.
     */
    channels: Type.Optional(
      Type.Array(Type.String({ pattern: '^[A-Za-z0-9_-]{0,32}$' }), {
        minItems: 1,
        maxItems: 16,
        uniqueItems: true,
      }),
    ),
    /** How long to wait for the device to confirm a switch or answer a status request. */
    timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 60_000 })),
    /**
     * A value older than this is not reported (devices publish on change and every telemetry
     * period: Tasmota's TelePeriod is 300 s by default).
     */
    staleAfterS: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
    kind: Type.Optional(EquipmentKindSchema),
    /** Nameplate facts for the hub's equipment list (model, serial, firmware, a label). */
    identity: Type.Optional(EquipmentIdentityConfig),
  },
  { additionalProperties: false },
);
export type MqttDeviceConfig = Static<typeof MqttDeviceConfig>;
