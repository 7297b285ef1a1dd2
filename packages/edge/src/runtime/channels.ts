// The channel inventory: every switchable channel of the configured sources, with what the agent
// can do with it and the state read from the device now. Sent to the hub as an
// `channels.inventory` event on start and after each reload, so the hub's equipment list is data
// the agent reports, not something typed in twice.
import {
  type ChannelInventory,
  checker,
  type InventoryChannel,
  ChannelInventory as Schema,
} from '@wattfleet/protocol';
import { hasRelay, type Source } from '../sources/types.ts';

const checkInventory = checker(Schema);

export async function channelInventory(
  sources: ReadonlyMap<string, Source>,
  /** automation.edgeExecution: whether the hub may hand these channels' schedules to this agent. */
  edgeAutomation = true,
): Promise<ChannelInventory> {
  const channels: InventoryChannel[] = [];
  for (const source of sources.values()) {
    if (!hasRelay(source)) continue;
    const info = source.info();
    const base = {
      equipment: source.key,
      kind: info.kind,
      ...(info.vendor ? { vendor: info.vendor.slice(0, 64) } : {}),
      ...(info.model ? { model: info.model.slice(0, 64) } : {}),
      capabilities: { switch: true, readBack: true, edgeAutomation },
    };
    const list = source.relayChannels?.() ?? [];
    const targets = list.length > 0 ? list : [{ channel: '', label: undefined }];
    for (const c of targets) {
      // A device that does not answer now is still registered; its state comes with the next switch.
      const state = await source.getRelay(c.channel || undefined).catch(() => undefined);
      channels.push({
        ...base,
        channel: c.channel,
        ...(c.label ? { label: c.label } : {}),
        ...(state ? { state } : {}),
      });
    }
  }
  const inventory = { channels };
  if (!checkInventory.check(inventory)) throw new Error('channel inventory does not match the protocol');
  return inventory;
}
