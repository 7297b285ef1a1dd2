// The `opcua` source's config section: one OPC UA server, read through monitored-item
// subscriptions (the server pushes changes; nothing is polled) and mapped onto metrics by a YAML
// template (`<templates>/opcua/<name>.yaml`, shipped with the agent like the Modbus ones).
import Type, { type Static } from 'typebox';
import { EquipmentIdentityConfig, EquipmentKindSchema } from './equipment.ts';

/** SHA-1 of the certificate's DER, as OPC UA tools show it: 40 hex digits, colons allowed. */
export const CertificateThumbprint = Type.String({
  pattern: '^[0-9A-Fa-f]{2}(:?[0-9A-Fa-f]{2}){19}$',
  description: 'SHA-1 thumbprint of a trusted server certificate (40 hex digits, colons allowed)',
});

export const OpcUaConfig = Type.Object(
  {
    key: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }),
    /** opc.tcp://host:port[/path] — the server's endpoint URL. */
    endpoint: Type.String({ pattern: '^opc\\.tcp://[^\\s/:]+(:[0-9]{1,5})?(/\\S*)?$', maxLength: 300 }),
    /** None: plain; Sign: signed messages; SignAndEncrypt: signed and encrypted. */
    securityMode: Type.Optional(Type.Enum(['None', 'Sign', 'SignAndEncrypt'])),
    /** Only with Sign / SignAndEncrypt (Basic256Sha256 when left out). */
    securityPolicy: Type.Optional(
      Type.Enum(['Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss']),
    ),
    /** User name and password; anonymous when left out. */
    user: Type.Optional(
      Type.Object(
        {
          username: Type.String({ minLength: 1, maxLength: 128 }),
          password: Type.String({ maxLength: 256 }),
        },
        { additionalProperties: false },
      ),
    ),
    /** Server certificates trusted for Sign / SignAndEncrypt, besides those in the PKI trusted folder. */
    trustedServerCertificates: Type.Optional(Type.Array(CertificateThumbprint, { maxItems: 16 })),
    /** Template name: `<templates>/opcua/<template>.yaml`. */
    template: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,63}$' }),
    /**
     * subscription (default): monitored items, the server pushes changes; a server that has no
     * subscriptions to give (BadTooManySubscriptions, BadServiceUnsupported) is read each poll
     * instead. polling: always read each poll.
     */
    mode: Type.Optional(Type.Enum(['subscription', 'polling'])),
    /** How often the server samples each node (a template node may ask for its own). */
    samplingIntervalMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 3_600_000 })),
    /** How often the server sends the changes it has collected. */
    publishingIntervalMs: Type.Optional(Type.Integer({ minimum: 50, maximum: 3_600_000 })),
    /** Absolute deadband, in the node's own unit, for nodes whose template entry gives none. */
    deadband: Type.Optional(Type.Number({ minimum: 0 })),
    /** Reconnect backoff after a lost connection: doubles from the first to the longest wait. */
    reconnect: Type.Optional(
      Type.Object(
        {
          initialDelayMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 600_000 })),
          maxDelayMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 3_600_000 })),
        },
        { additionalProperties: false },
      ),
    ),
    /** Time allowed for connecting, opening the session and each request. */
    timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 120_000 })),
    kind: Type.Optional(EquipmentKindSchema),
    /** Nameplate facts for the hub's equipment list (model, serial, firmware, a label). */
    identity: Type.Optional(EquipmentIdentityConfig),
  },
  { additionalProperties: false },
);
export type OpcUaConfig = Static<typeof OpcUaConfig>;
