// The `mqtt-device` source: a device on the LAN that publishes its own state over MQTT (Shelly
// Gen2+, Tasmota), driven by a template (template.ts). Nothing is polled from the device: the
// source keeps the latest value of each metric and relay state as the device publishes them, and
// each poll reports what is fresh. Switching publishes the template's command and waits for the
// device's own status message; the state it reports is what the agent reports.
import { randomBytes } from 'node:crypto';
import { MqttDeviceConfig } from '@wattfleet/devices/sources';
import type {
  EquipmentInfo,
  ProbeCapability,
  Reading,
  RelayCapability,
  RelayChannel,
  RelayState,
  Source,
  SourceContext,
  SourceFactory,
} from '../types.ts';
import { layeredIdentity } from '../types.ts';
import { joinBroker, type LocalBrokerLink } from './broker.ts';
import { at, fill, loadMqttTemplate, type MqttDeviceTemplate, type MqttSubscription } from './template.ts';

export { MqttDeviceConfig };

/** Biggest message a plug sends is its full status (~1 KiB); anything far larger is not one. */
const MAX_PAYLOAD = 64 * 1024;

interface Value {
  value: number;
  at: number;
}
interface ChannelState {
  state: RelayState;
  at: number;
}

/** One subscription for one channel (or for the device, when nothing in it names a channel). */
interface Route {
  sub: MqttSubscription;
  channel: string | undefined;
  root: string;
}

const namesChannel = (s: MqttSubscription) =>
  [s.topic, s.root ?? '', s.state?.path ?? '', ...(s.metrics ?? []).map((m) => m.path)].some((t) =>
    t.includes('{channel}'),
  );

class MqttDeviceSource implements Source, RelayCapability, ProbeCapability {
  readonly type = 'mqtt-device';
  readonly key: string;
  readonly #cfg: MqttDeviceConfig;
  readonly #t: MqttDeviceTemplate;
  readonly #channels: string[];
  readonly #client: string;
  readonly #timeoutMs: number;
  readonly #staleMs: number;
  readonly #values = new Map<string, Value>(); // `${channel ?? ''}|${metric}`
  readonly #states = new Map<string, ChannelState>();
  readonly #waiters = new Set<(channel: string, state: RelayState) => void>();
  readonly #started = Date.now();
  #online: boolean | undefined;
  #lastHeard = 0;
  #badMessage: string | undefined;
  #link: LocalBrokerLink | undefined;
  #linking: Promise<void>;
  /** Settles once the broker is joined (an embedded one listens): before any device can connect. */
  readonly joined: Promise<unknown>;
  #linkError: string | undefined;
  #seq = 0;

  constructor(cfg: MqttDeviceConfig, template: MqttDeviceTemplate) {
    this.key = cfg.key;
    this.#cfg = cfg;
    this.#t = template;
    this.#channels = cfg.channels ?? template.channels;
    this.#client = `wattfleet-${cfg.key}`;
    this.#timeoutMs = cfg.timeoutMs ?? 3000;
    this.#staleMs = (cfg.staleAfterS ?? 600) * 1000;
    const clientId = `wattfleet-agent-${randomBytes(4).toString('hex')}`;
    const joining = joinBroker(cfg.broker, clientId);
    this.joined = joining.catch(() => undefined);
    this.#linking = this.#connect(joining);
  }

  #fill(text: string, channel?: string, extra: Record<string, string | number> = {}) {
    return fill(text, {
      prefix: this.#cfg.prefix,
      client: this.#client,
      ...(channel !== undefined ? { channel } : {}),
      ...extra,
    });
  }

  async #connect(joining: Promise<LocalBrokerLink>): Promise<void> {
    try {
      const link = await joining;
      this.#link = link;
      const routes = new Map<string, Route[]>();
      for (const sub of this.#t.subscriptions) {
        for (const channel of namesChannel(sub) ? this.#channels : [undefined]) {
          const topic = this.#fill(sub.topic, channel);
          const list = routes.get(topic) ?? [];
          list.push({ sub, channel, root: this.#fill(sub.root ?? '', channel) });
          routes.set(topic, list);
        }
      }
      const availability = this.#t.availability ? this.#fill(this.#t.availability.topic) : undefined;
      const topicsToJoin = [...routes.keys(), ...(availability ? [availability] : [])];
      await link.subscribe(topicsToJoin, (topic, payload) => {
        if (topic === availability) {
          const text = payload.toString('utf8').trim();
          if (text === this.#t.availability?.online) this.#online = true;
          else if (text === this.#t.availability?.offline) this.#online = false;
          return;
        }
        for (const route of routes.get(topic) ?? []) this.#onMessage(route, topic, payload);
      });
      await this.#refresh();
    } catch (err) {
      this.#linkError = (err as Error).message;
    }
  }

  /** Asks the device for its status (answers arrive on the subscribed topics). */
  async #refresh(channels: readonly string[] = this.#channels): Promise<void> {
    const link = this.#link;
    if (!link) return;
    for (const r of this.#t.refresh) {
      const per = r.topic.includes('{channel}') || r.payload.includes('{channel}') ? channels : [undefined];
      for (const channel of per) {
        const id = ++this.#seq;
        await link.publish(this.#fill(r.topic, channel, { id }), this.#fill(r.payload, channel, { id }));
      }
    }
  }

  #onMessage(route: Route, topic: string, payload: Buffer): void {
    if (payload.length > MAX_PAYLOAD) {
      this.#badMessage = `${topic}: ${payload.length} bytes is not a status message; ignored`;
      return;
    }
    const now = Date.now();
    const { sub, channel } = route;
    let doc: unknown = payload.toString('utf8');
    if (sub.format === 'json') {
      try {
        doc = JSON.parse(doc as string);
      } catch {
        this.#badMessage = `${topic}: not JSON; ignored`;
        return;
      }
      doc = at(doc, route.root);
      if (doc === undefined) return; // e.g. a NotifyStatus about another component
    } else doc = (doc as string).trim();
    this.#lastHeard = now;
    if (sub.state) {
      const raw = sub.format === 'json' ? at(doc, this.#fill(sub.state.path ?? '', channel)) : doc;
      const state = raw === sub.state.on ? 'on' : raw === sub.state.off ? 'off' : undefined;
      const ch = channel ?? this.#channels[0] ?? '';
      if (state) {
        this.#states.set(ch, { state, at: now });
        for (const w of this.#waiters) w(ch, state);
      }
    }
    for (const m of sub.metrics ?? []) {
      const raw = at(doc, this.#fill(m.path, channel));
      if (typeof raw !== 'number' || !Number.isFinite(raw)) continue;
      this.#values.set(`${channel ?? ''}|${m.metric}`, { value: raw * (m.scale ?? 1), at: now });
    }
  }

  info(): EquipmentInfo {
    return {
      key: this.key,
      kind: this.#cfg.kind ?? this.#t.kind ?? 'plug',
      ...layeredIdentity({ vendor: this.#t.vendor }, this.#cfg.identity, {}),
    };
  }

  get #multi(): boolean {
    return this.#channels.length > 1;
  }

  #equipment(channel: string | undefined): string {
    return channel !== undefined && this.#multi ? `${this.key}.${channel}` : this.key;
  }

  /** Why nothing can be reported, or undefined when the device is heard. */
  #unavailable(): string | undefined {
    if (this.#linkError) return `${this.key}: cannot use the local broker: ${this.#linkError}`;
    const down = this.#link?.lastError();
    if (down && down !== 'connecting')
      return `${this.key}: local broker ${this.#link?.url} unreachable: ${down}`;
    if (this.#online === false)
      return `${this.key}: device offline (its last will on ${this.#fill(this.#t.availability?.topic ?? '')} says ${this.#t.availability?.offline})`;
    return undefined;
  }

  async read(now: number): Promise<Reading[]> {
    const why = this.#unavailable();
    if (why) throw new Error(why);
    const fresh = Date.now() - this.#staleMs;
    const readings: Reading[] = [];
    for (const [k, v] of this.#values) {
      if (v.at < fresh) continue;
      const [channel, metric] = k.split('|') as [string, string];
      readings.push({
        metric,
        value: v.value,
        ts: now,
        equipment: this.#equipment(channel || undefined),
      });
    }
    for (const [channel, s] of this.#states) {
      if (s.at < fresh) continue;
      readings.push({
        metric: 'relay_state',
        value: s.state === 'on' ? 1 : 0,
        ts: now,
        equipment: this.#equipment(channel),
      });
    }
    if (readings.length === 0 && Date.now() - this.#started > this.#timeoutMs) {
      const heard = this.#lastHeard ? `nothing newer than ${this.#cfg.staleAfterS ?? 600} s` : 'nothing yet';
      throw new Error(
        `${this.key}: ${heard} from the device on prefix "${this.#cfg.prefix}" via ${this.#link?.url ?? 'the local broker'}${this.#badMessage ? ` (${this.#badMessage})` : ''}; is its MQTT set to this broker and prefix?`,
      );
    }
    return readings;
  }

  relayChannels(): RelayChannel[] {
    return this.#multi ? this.#channels.map((channel) => ({ channel })) : [];
  }

  #channel(channel: string | undefined): string {
    if (!this.#multi) return this.#channels[0] ?? '';
    if (channel === undefined || !this.#channels.includes(channel))
      throw new Error(`${this.key}: no relay channel "${channel ?? ''}" (has ${this.#channels.join(', ')})`);
    return channel;
  }

  /** Resolves with the next state the device reports for `channel` satisfying `want`, or undefined. */
  #awaitState(
    channel: string,
    want: (s: RelayState) => boolean,
  ): { done: Promise<RelayState | undefined>; cancel: () => void } {
    let cancel = () => {};
    const done = new Promise<RelayState | undefined>((resolve) => {
      const waiter = (ch: string, s: RelayState) => {
        if (ch === channel && want(s)) finish(s);
      };
      const timer = setTimeout(() => finish(undefined), this.#timeoutMs);
      const finish = (s: RelayState | undefined) => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        resolve(s);
      };
      cancel = () => finish(undefined);
      this.#waiters.add(waiter);
    });
    return { done, cancel };
  }

  async setRelay(state: RelayState, channel?: string): Promise<RelayState> {
    const ch = this.#channel(channel);
    await this.#ready();
    const confirmed = this.#awaitState(ch, (s) => s === state);
    const id = ++this.#seq;
    const word = state === 'on' ? this.#t.switch.on : this.#t.switch.off;
    const fillCmd = (text: string) => this.#fill(text, ch, { id, on: word });
    try {
      await this.#link!.publish(fillCmd(this.#t.switch.topic), fillCmd(this.#t.switch.payload));
    } catch (err) {
      confirmed.cancel();
      throw new Error(`${this.key}: switch command not sent: ${(err as Error).message}`);
    }
    const got = await confirmed.done;
    if (got) return got;
    // No confirmation: ask once more and report what the device says (a mismatch is the truth).
    const after = this.#awaitState(ch, () => true);
    await this.#refresh([ch]).catch(() => {});
    const said = await after.done;
    if (said) return said;
    throw new Error(`${this.key}: the device did not confirm the switch within ${2 * this.#timeoutMs} ms`);
  }

  async getRelay(channel?: string): Promise<RelayState> {
    const ch = this.#channel(channel);
    await this.#ready();
    const known = this.#states.get(ch);
    if (known && Date.now() - known.at < this.#staleMs) return known.state;
    const next = this.#awaitState(ch, () => true);
    await this.#refresh([ch]).catch(() => {});
    const said = await next.done;
    if (said) return said;
    throw new Error(`${this.key}: the device did not report its state within ${this.#timeoutMs} ms`);
  }

  async #ready(): Promise<void> {
    await this.#linking;
    const why = this.#unavailable();
    if (why) throw new Error(why);
    if (!this.#link) throw new Error(`${this.key}: not connected to the local broker`);
  }

  async probe(): Promise<{ ok: boolean; latencyMs: number; detail: string }> {
    const started = performance.now();
    try {
      const state = await this.getRelay(this.#multi ? this.#channels[0] : undefined);
      return {
        ok: true,
        latencyMs: performance.now() - started,
        detail: `relay ${state} via ${this.#link?.url}`,
      };
    } catch (err) {
      return { ok: false, latencyMs: performance.now() - started, detail: (err as Error).message };
    }
  }

  async close(): Promise<void> {
    await this.#linking;
    const link = this.#link;
    this.#link = undefined;
    await link?.release();
  }
}

export const mqttDeviceSource: SourceFactory<MqttDeviceConfig> = {
  type: 'mqtt-device',
  configSchema: MqttDeviceConfig,
  async create(config: MqttDeviceConfig, context: SourceContext): Promise<Source> {
    const template = await loadMqttTemplate(context.templatesDir, config.template);
    const source = new MqttDeviceSource(config, template);
    await source.joined;
    return source;
  },
};
