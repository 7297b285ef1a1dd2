// A device class is a small interface plus optional capabilities checked at run time (evcc's
// model). A source that lacks a capability simply does not implement it: "unsupported", not "failed".

/** One reading of one metric, as the agent stores it in its outbox. */
export interface Reading {
  metric: string; // canonical name from @wattfleet/protocol's catalogue, or x_…
  value: number;
  ts: number; // epoch ms UTC
  equipment?: string; // equipment key behind the node; absent = the node itself
}

export type EquipmentKind =
  | 'inverter'
  | 'meter'
  | 'ct'
  | 'battery'
  | 'relay'
  | 'plug'
  | 'sensor'
  | 'ev_charger';

export interface EquipmentInfo {
  key: string;
  kind: EquipmentKind;
  vendor?: string;
  model?: string;
  serial?: string;
  firmware?: string;
  /** The installer's name for it (config `identity.label`). */
  label?: string;
}

/** Identity a source config may carry (config `identity`), laid over what the template says. */
export interface IdentityConfig {
  label?: string;
  model?: string;
  serial?: string;
  firmware?: string;
}

/**
 * What the equipment list shows: the template's facts, then the installer's nameplate facts
 * (config), then what the device itself reported on a read (it knows its firmware best).
 */
export function layeredIdentity(
  template: Pick<EquipmentInfo, 'vendor' | 'model'>,
  config: IdentityConfig | undefined,
  device: Pick<EquipmentInfo, 'vendor' | 'model' | 'serial' | 'firmware'>,
): Pick<EquipmentInfo, 'vendor' | 'model' | 'serial' | 'firmware' | 'label'> {
  const out: Pick<EquipmentInfo, 'vendor' | 'model' | 'serial' | 'firmware' | 'label'> = {};
  for (const layer of [template, config ?? {}, device] as Record<string, string | undefined>[])
    for (const k of ['vendor', 'model', 'serial', 'firmware', 'label'] as const)
      if (typeof layer[k] === 'string' && layer[k] !== '') out[k] = layer[k];
  return out;
}

/** Every source reads; everything else is a capability. */
export interface Source {
  readonly key: string;
  readonly type: string;
  info(): EquipmentInfo;
  /** Reads all metrics it can; throws when the equipment does not answer. */
  read(now: number): Promise<Reading[]>;
  close?(): Promise<void>;
}

export type RelayState = 'on' | 'off';

/** One switchable channel of a multi-channel device (a relay board's coil). */
export interface RelayChannel {
  channel: string;
  label?: string;
}

/**
 * Switching. `channel` names one channel of a multi-channel device; single-channel devices have
 * no relayChannels() (or an empty list) and ignore it. Both answer with the state read back from
 * the device after the write, never with the state asked for.
 */
export interface RelayCapability {
  setRelay(state: RelayState, channel?: string): Promise<RelayState>;
  getRelay(channel?: string): Promise<RelayState>;
  relayChannels?(): readonly RelayChannel[];
}

export interface ProbeCapability {
  /** Diagnostics: a cheap "are you there" with latency and details. */
  probe(): Promise<{ ok: boolean; latencyMs: number; detail: string }>;
}

export const hasRelay = (s: Source): s is Source & RelayCapability =>
  typeof (s as Partial<RelayCapability>).setRelay === 'function';
export const hasProbe = (s: Source): s is Source & ProbeCapability =>
  typeof (s as Partial<ProbeCapability>).probe === 'function';

/** A factory builds a source from its validated config section. Sources register by type. */
export interface SourceFactory<C = unknown> {
  readonly type: string;
  /** TypeBox schema of this source's config section (validated strictly, all errors listed). */
  readonly configSchema: import('typebox').TSchema;
  create(config: C, context: SourceContext): Promise<Source> | Source;
}

export interface SourceContext {
  site: { latitude: number; longitude: number; timezone: string };
  /** Directory of device templates (YAML). */
  templatesDir: string;
  /** The agent's data directory (beside the outbox): what a source keeps, e.g. its certificates. */
  dataDir?: string;
}

export interface HistoryCapability {
  /** Readings at every `everyMs` in [from, to], oldest first (backfilling a new install or a demo). */
  history(from: number, to: number, everyMs: number): Iterable<Reading[]>;
}

export const hasHistory = (s: Source): s is Source & HistoryCapability =>
  typeof (s as Partial<HistoryCapability>).history === 'function';
