// The equipment inventory: every configured source as the equipment it stands for (kind, vendor,
// model, serial, firmware, the metrics it has delivered, its switchable channels), sent to the
// hub as an `equipment.inventory` event through the outbox. It goes out on start and reload, and
// again whenever what it says changes (the first read brings the metrics and the identity the
// device reports), never once per poll: the digest of the last one sent is kept.
import {
  checker,
  type EquipmentInventory,
  type InventoryEquipment,
  EquipmentInventory as Schema,
} from '@wattfleet/protocol';
import { hasRelay, type Reading, type Source } from '../sources/types.ts';

const checkInventory = checker(Schema);
const text = (v: string | undefined, max: number) => (v ? { value: v.slice(0, max) } : undefined);

export class EquipmentRegistry {
  /** Metrics each equipment has delivered since start (by equipment key). */
  readonly #metrics = new Map<string, Set<string>>();
  readonly #reachable = new Map<string, boolean>();
  #sent = '';

  constructor(
    private readonly sources: () => ReadonlyMap<string, Source>,
    private readonly send: (inventory: EquipmentInventory) => void,
  ) {}

  /** A poll round's readings: a metric seen for the first time changes the inventory. */
  onReadings(readings: readonly Reading[]): void {
    for (const r of readings) {
      const key = r.equipment;
      if (!key) continue;
      let set = this.#metrics.get(key);
      if (!set) {
        set = new Set();
        this.#metrics.set(key, set);
      }
      set.add(r.metric);
    }
    this.announce();
  }

  /** Whether a source's last read answered (sent along, but a change alone sends nothing). */
  onSourceResult(key: string, error: string | null): void {
    this.#reachable.set(key, error === null);
  }

  /** After a reload: sources that went away take their metrics with them. */
  reset(): void {
    this.#metrics.clear();
    this.#reachable.clear();
    this.#sent = '';
    this.announce();
  }

  inventory(): EquipmentInventory {
    const equipment: InventoryEquipment[] = [];
    for (const source of this.sources().values()) {
      const info = source.info();
      const channels = hasRelay(source)
        ? (source.relayChannels?.() ?? []).map((c) => c.channel).filter((c, i, all) => all.indexOf(c) === i)
        : [];
      const identity: Partial<InventoryEquipment> = {};
      for (const [k, max] of [
        ['label', 100],
        ['vendor', 64],
        ['model', 64],
        ['serial', 64],
        ['firmware', 64],
      ] as const) {
        const v = text(info[k], max);
        if (v) identity[k] = v.value;
      }
      const reachable = this.#reachable.get(source.key);
      equipment.push({
        key: source.key,
        kind: info.kind,
        source: source.type,
        ...identity,
        metrics: [...(this.#metrics.get(source.key) ?? [])].sort().slice(0, 256),
        channels: hasRelay(source) && channels.length === 0 ? [''] : channels.slice(0, 64),
        ...(reachable === undefined ? {} : { reachable }),
      });
    }
    const inventory = { equipment: equipment.slice(0, 256) };
    if (!checkInventory.check(inventory)) throw new Error('equipment inventory does not match the protocol');
    return inventory;
  }

  /** Sends the inventory when it differs from the last one sent (reachability aside). */
  announce(): void {
    const inventory = this.inventory();
    const digest = JSON.stringify(inventory.equipment.map(({ reachable: _r, ...rest }) => rest));
    if (digest === this.#sent) return;
    this.#sent = digest;
    this.send(inventory);
  }
}
