// The `opcua` source: one OPC UA server, read through a subscription. The server samples each
// template node and pushes changes (beyond the node's deadband); the source keeps the latest good
// value of each, and the poller's read() takes that snapshot, so OPC UA equipment joins the same
// outbox, live state and reachability path as every other source. A lost connection clears the
// snapshot (no stale value passes as fresh), read() then throws — the poller's failure count
// makes the `equipment.unreachable` event, as for Modbus — and the source reconnects on its own
// with doubling backoff, opening a new session and subscription. A server with no subscription to
// give (or `mode: polling`) is read once per poll instead, through the same snapshot.
import { join } from 'node:path';
import { OpcUaConfig } from '@wattfleet/devices/sources';
import type { ClientSession, ClientSubscription, DataValue, OPCUAClient } from 'node-opcua-client';
import type {
  EquipmentInfo,
  EquipmentKind,
  ProbeCapability,
  Reading,
  Source,
  SourceContext,
  SourceFactory,
} from '../types.ts';
import { layeredIdentity } from '../types.ts';
import { type BrowsedVariable, browseVariables } from './browse.ts';
import { type AgentPki, APPLICATION_NAME, applicationUri, openPki } from './pki.ts';
import {
  loadOpcUaTemplate,
  nodeFactor,
  nodeLabel,
  type OpcUaNodeEntry,
  type OpcUaTemplate,
} from './template.ts';

export { OpcUaConfig };

type Opc = typeof import('node-opcua-client');
// Loaded on first use: node-opcua is several MB an agent without OPC UA equipment never needs.
let opcModule: Promise<Opc> | undefined;
const loadOpc = (): Promise<Opc> => {
  opcModule ??= import('node-opcua-client');
  return opcModule;
};

/** Where the agent keeps its OPC UA certificates when the runtime names no data dir. */
export const DEFAULT_DATA_DIR = '/var/lib/wattfleet';

type State = 'connecting' | 'connected' | 'down' | 'closed';

export interface OpcUaProbe {
  ok: boolean;
  latencyMs: number;
  detail: string;
  state: State;
  endpoint: string;
  securityMode: string;
  /** What the server's administrator adds to its trust list (Sign / SignAndEncrypt). */
  clientCertificate: AgentPki['own'];
  /** Template nodes the server refused (unknown node id, no access…). */
  nodeErrors: Record<string, string>;
  /** How values arrive this session: pushed by a subscription, or read at each poll. */
  mode: 'subscription' | 'polling';
  variables?: BrowsedVariable[];
  truncated?: boolean;
}

function numeric(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return Number(v);
  // node-opcua's Int64 / UInt64: [high, low] 32-bit words.
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number'))
    return (v[0] as number) * 2 ** 32 + (v[1] as number);
  return undefined;
}

class OpcUaSource implements Source, ProbeCapability {
  readonly type = 'opcua';
  readonly key: string;
  readonly #config: OpcUaConfig;
  readonly #template: OpcUaTemplate;
  readonly #pki: AgentPki;
  readonly #identity: Pick<EquipmentInfo, 'vendor' | 'model' | 'serial' | 'firmware'> = {};
  /** Latest good value per template node (already in the metric's unit). */
  readonly #values = new Map<string, number>();
  readonly #nodeErrors = new Map<string, string>();
  #state: State = 'connecting';
  #lastError: string;
  #client: OPCUAClient | undefined;
  #session: ClientSession | undefined;
  #subscription: ClientSubscription | undefined;
  /** Read at each poll (the server gives no subscription, or the config asks so): node → id. */
  #polled: Map<OpcUaNodeEntry, string> | undefined;
  #attempt = 0;
  #retry: NodeJS.Timeout | undefined;
  /** The connection attempt under way (or the last one). */
  #attemptDone: Promise<void>;
  /** An attempt has ended (connected or failed): from then on reads say how it stands. */
  #settled = false;
  readonly #createdAt = performance.now();

  constructor(config: OpcUaConfig, template: OpcUaTemplate, pki: AgentPki) {
    this.key = config.key;
    this.#config = config;
    this.#template = template;
    this.#pki = pki;
    this.#lastError = `connecting to ${config.endpoint}`;
    this.#attemptDone = this.#connect();
  }

  info(): EquipmentInfo {
    const kind: EquipmentKind = this.#config.kind ?? this.#template.kind ?? 'sensor';
    const { vendor, model } = this.#template;
    return {
      key: this.key,
      kind,
      ...layeredIdentity({ vendor, model }, this.#config.identity, this.#identity),
    };
  }

  get state(): State {
    return this.#state;
  }

  get clientCertificate(): AgentPki['own'] {
    return this.#pki.own;
  }

  async read(now: number): Promise<Reading[]> {
    // An attempt under way may finish within the poll's time; a slow one (a server that takes
    // its time to refuse) must not hold the poll until it times out, so wait only a little.
    if (this.#state === 'connecting') await Promise.race([this.#attemptDone, delay(750)]);
    if (this.#state === 'connecting' && !this.#settled) {
      // The very first attempt, still under way (loading node-opcua, the handshake): nothing to
      // say yet, neither a value nor a reason. Counting these as failures would make the
      // `equipment.unreachable` event say "connecting" instead of why the server refused; the
      // wait is bounded by timeoutMs, after which it counts as a failure like any other.
      if (performance.now() - this.#createdAt < this.#timeoutMs) return [];
      throw new Error(`${this.key}: no answer from ${this.#config.endpoint} within ${this.#timeoutMs} ms`);
    }
    if (this.#state !== 'connected') throw new Error(`${this.key}: ${this.#lastError}`);
    if (this.#polled) await this.#pollOnce(this.#polled);
    return [...this.#values].map(([metric, value]) => ({ metric, value, ts: now, equipment: this.key }));
  }

  get #timeoutMs(): number {
    return this.#config.timeoutMs ?? 10_000;
  }

  async #connect(): Promise<void> {
    this.#state = this.#state === 'closed' ? 'closed' : 'connecting';
    if (this.#state === 'closed') return;
    const opc = await loadOpc();
    const mode = opc.MessageSecurityMode[this.#config.securityMode ?? 'None'];
    const policy =
      mode === opc.MessageSecurityMode.None
        ? opc.SecurityPolicy.None
        : opc.SecurityPolicy[this.#config.securityPolicy ?? 'Basic256Sha256'];
    const client = opc.OPCUAClient.create({
      applicationName: APPLICATION_NAME,
      applicationUri: applicationUri(),
      securityMode: mode,
      securityPolicy: policy,
      endpointMustExist: false,
      clientCertificateManager: this.#pki.manager,
      certificateFile: this.#pki.certificateFile,
      privateKeyFile: this.#pki.privateKeyFile,
      // One try per attempt: the backoff between attempts is ours (and ends on close()).
      connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
      requestedSessionTimeout: 60_000,
      keepSessionAlive: true,
      transportTimeout: this.#timeoutMs,
    });
    this.#client = client;
    client.on('connection_lost', () => this.#lost(client, 'connection to the server lost'));
    try {
      await withTimeout(client.connect(this.#config.endpoint), this.#timeoutMs, 'connect');
      const user = this.#config.user;
      const session = await withTimeout(
        client.createSession(
          user
            ? { type: opc.UserTokenType.UserName, userName: user.username, password: user.password }
            : { type: opc.UserTokenType.Anonymous },
        ),
        this.#timeoutMs,
        'session',
      );
      this.#session = session;
      session.on('session_closed', () => this.#lost(client, 'session closed by the server'));
      session.on('keepalive_failure', () => this.#lost(client, 'session keep-alive failed'));
      const ids = await this.#resolve(opc, session);
      await this.#readInfo(opc, session, ids);
      this.#polled = undefined;
      if (this.#config.mode === 'polling') this.#polled = ids;
      else
        await this.#subscribe(opc, client, session, ids).catch((err: Error) => {
          // A server without subscriptions to give (a small embedded profile, or all taken) is
          // still readable: read its nodes at each poll instead.
          if (
            !/BadTooManySubscriptions|BadServiceUnsupported|BadNotSupported|BadNotImplemented/.test(
              err.message,
            )
          )
            throw err;
          this.#polled = ids;
        });
      if (this.#client !== client) return; // closed or lost meanwhile
      this.#state = 'connected';
      this.#attempt = 0;
      this.#settled = true;
    } catch (err) {
      this.#lost(client, this.#explain(err as Error));
    }
  }

  /** A refused server certificate says which one, and how to trust it. */
  #explain(err: Error): string {
    const refusal = this.#pki.lastRefusal();
    if (refusal && /certificate/i.test(err.message)) {
      const c = refusal.certificate;
      return (
        `server certificate not trusted (${refusal.status}): ${c.subject || 'no subject'}, ` +
        `SHA-1 thumbprint ${c.thumbprint}; if that is the server's, add it to trustedServerCertificates ` +
        `(or move its file from ${join(this.#pki.rootDir, 'rejected')} to ${join(this.#pki.rootDir, 'trusted/certs')})`
      );
    }
    // The server's side of the same step: it does not (yet) trust the agent's certificate.
    const hint = /BadSecurityChecksFailed|BadCertificate/.test(err.message)
      ? `; if the server does not trust the agent yet, trust its certificate there (SHA-1 thumbprint ${this.#pki.own.thumbprint}, file ${this.#pki.certificateFile})`
      : '';
    return `cannot connect to ${this.#config.endpoint}: ${err.message}${hint}`;
  }

  /**
   * The node id of each template node for this session: given, or its browse path translated by
   * the server. A path the server cannot resolve is that node's error; the others go on.
   */
  async #resolve(opc: Opc, session: ClientSession): Promise<Map<OpcUaNodeEntry, string>> {
    this.#nodeErrors.clear(); // a new session judges every node afresh
    const ids = new Map<OpcUaNodeEntry, string>();
    const byPath = this.#template.nodes.filter((n) => n.browsePath !== undefined);
    for (const n of this.#template.nodes) if (n.nodeId !== undefined) ids.set(n, n.nodeId);
    if (byPath.length === 0) return ids;
    const results = await withTimeout(
      session.translateBrowsePath(byPath.map((n) => opc.makeBrowsePath('i=85', n.browsePath!))),
      this.#timeoutMs,
      'browse path translation',
    );
    byPath.forEach((n, i) => {
      const r = results[i];
      const target = r?.statusCode.isGood() ? r.targets?.[0]?.targetId : undefined;
      if (target) ids.set(n, target.toString());
      else this.#nodeErrors.set(nodeLabel(n), r?.statusCode.name ?? 'not resolved');
    });
    return ids;
  }

  async #readInfo(opc: Opc, session: ClientSession, ids: Map<OpcUaNodeEntry, string>): Promise<void> {
    const info = this.#template.nodes.filter((n) => n.info && ids.has(n));
    if (info.length === 0) return;
    const values = await session.read(
      info.map((n) => ({ nodeId: ids.get(n)!, attributeId: opc.AttributeIds.Value })),
    );
    info.forEach((n, i) => {
      const v = values[i];
      if (v?.statusCode.isGood() && v.value.value !== null) this.#identity[n.info!] = String(v.value.value);
      else this.#nodeErrors.set(nodeLabel(n), v?.statusCode.name ?? 'unreadable');
    });
  }

  async #subscribe(
    opc: Opc,
    client: OPCUAClient,
    session: ClientSession,
    ids: Map<OpcUaNodeEntry, string>,
  ): Promise<void> {
    const sampling = this.#config.samplingIntervalMs ?? 1000;
    const publishing = this.#config.publishingIntervalMs ?? Math.max(sampling, 100);
    const subscription = await withTimeout(
      session.createSubscription2({
        requestedPublishingInterval: publishing,
        requestedLifetimeCount: 60,
        requestedMaxKeepAliveCount: 10,
        maxNotificationsPerPublish: 1000,
        publishingEnabled: true,
        priority: 1,
      }),
      this.#timeoutMs,
      'subscription',
    );
    this.#subscription = subscription;
    subscription.on('terminated', () => this.#lost(client, 'subscription terminated by the server'));
    for (const node of this.#template.nodes) {
      const nodeId = ids.get(node);
      if (!node.metric || nodeId === undefined) continue;
      const deadband = node.deadband ?? this.#config.deadband;
      const item = opc.ClientMonitoredItem.create(
        subscription,
        { nodeId, attributeId: opc.AttributeIds.Value },
        {
          samplingInterval: node.samplingIntervalMs ?? sampling,
          queueSize: 1,
          discardOldest: true,
          ...(deadband
            ? {
                filter: new opc.DataChangeFilter({
                  trigger: opc.DataChangeTrigger.StatusValue,
                  deadbandType: opc.DeadbandType.Absolute,
                  deadbandValue: deadband,
                }),
              }
            : {}),
        },
        opc.TimestampsToReturn.Both,
      );
      item.on('changed', (dv: DataValue) => this.#changed(node, dv));
      item.on('err', (message: string) => {
        this.#nodeErrors.set(nodeLabel(node), message);
        this.#values.delete(node.metric!);
      });
    }
  }

  /** Polling mode: one Read of every metric node, each answer taken as a change would be. */
  async #pollOnce(ids: Map<OpcUaNodeEntry, string>): Promise<void> {
    const opc = await loadOpc();
    const client = this.#client;
    const session = this.#session;
    const nodes = this.#template.nodes.filter((n) => n.metric && ids.has(n));
    if (!client || !session || nodes.length === 0) return;
    try {
      const values = await withTimeout(
        session.read(nodes.map((n) => ({ nodeId: ids.get(n)!, attributeId: opc.AttributeIds.Value }))),
        this.#timeoutMs,
        'read',
      );
      nodes.forEach((n, i) => {
        if (values[i]) this.#changed(n, values[i]);
      });
    } catch (err) {
      this.#lost(client, `read failed: ${(err as Error).message}`);
      throw new Error(`${this.key}: ${this.#lastError}`);
    }
  }

  #changed(node: OpcUaNodeEntry, dv: DataValue): void {
    const raw = dv.statusCode.isGood() ? numeric(dv.value.value) : undefined;
    if (raw === undefined) {
      this.#values.delete(node.metric!);
      if (!dv.statusCode.isGood()) this.#nodeErrors.set(nodeLabel(node), dv.statusCode.name);
      return;
    }
    this.#nodeErrors.delete(nodeLabel(node));
    this.#values.set(node.metric!, raw * nodeFactor(node));
  }

  /** Drops everything of `client` (once) and tries again after the backoff. */
  #lost(client: OPCUAClient, reason: string): void {
    if (this.#client !== client) return; // an older connection's late event
    this.#client = undefined;
    this.#session = undefined;
    this.#subscription = undefined;
    this.#polled = undefined;
    this.#values.clear();
    void client.disconnect().catch(() => {});
    this.#settled = true;
    if (this.#state === 'closed') return;
    this.#state = 'down';
    this.#lastError = reason;
    const first = this.#config.reconnect?.initialDelayMs ?? 1000;
    const max = Math.max(first, this.#config.reconnect?.maxDelayMs ?? 60_000);
    const wait = Math.min(first * 2 ** this.#attempt, max);
    this.#attempt = Math.min(this.#attempt + 1, 30);
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => {
      this.#attemptDone = this.#connect();
    }, wait);
    this.#retry.unref();
  }

  async probe(): Promise<OpcUaProbe> {
    const started = performance.now();
    const base = {
      state: this.#state,
      endpoint: this.#config.endpoint,
      securityMode: this.#config.securityMode ?? 'None',
      clientCertificate: this.#pki.own,
      nodeErrors: Object.fromEntries(this.#nodeErrors),
      mode: this.#polled ? ('polling' as const) : ('subscription' as const),
    };
    const session = this.#session;
    if (this.#state !== 'connected' || !session) {
      return { ok: false, latencyMs: performance.now() - started, detail: this.#lastError, ...base };
    }
    try {
      const { variables, truncated } = await browseVariables(await loadOpc(), session);
      const refused = [...this.#nodeErrors].map(([node, why]) => `${node}: ${why}`).join(', ');
      const detail =
        `${variables.length} variables${truncated ? ' (list truncated)' : ''}; ` +
        `${this.#values.size} of the template's metrics have a value` +
        (refused ? `; template nodes refused by the server: ${refused}` : '');
      return { ok: true, latencyMs: performance.now() - started, detail, ...base, variables, truncated };
    } catch (err) {
      return { ok: false, latencyMs: performance.now() - started, detail: (err as Error).message, ...base };
    }
  }

  async close(): Promise<void> {
    this.#state = 'closed';
    clearTimeout(this.#retry);
    const client = this.#client;
    const subscription = this.#subscription;
    const session = this.#session;
    this.#client = undefined;
    this.#session = undefined;
    this.#subscription = undefined;
    this.#values.clear();
    await subscription?.terminate().catch(() => {});
    await session?.close().catch(() => {});
    await client?.disconnect().catch(() => {});
  }
}

const delay = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms).unref();
  });

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export type { OpcUaSource };

export const opcUaSource: SourceFactory<OpcUaConfig> = {
  type: 'opcua',
  configSchema: OpcUaConfig,
  async create(config: OpcUaConfig, context: SourceContext): Promise<Source> {
    const template = await loadOpcUaTemplate(context.templatesDir, config.template);
    const mode = config.securityMode ?? 'None';
    const pki = await openPki(
      join(context.dataDir ?? DEFAULT_DATA_DIR, 'opcua-pki'),
      config.trustedServerCertificates ?? [],
      mode !== 'None',
    );
    return new OpcUaSource(config, template, pki);
  },
};
