// RELAY_SET: switch one channel through the equipment's RelayCapability and reply with the state
// the device confirms on read-back, not the one we asked for. A multi-channel board needs the
// channel; a single-channel device takes none.
import type { RelaySetResult } from '@wattfleet/protocol';
import { hasRelay, type Source } from '../../sources/types.ts';
import type { Handler } from '../dispatcher.ts';
import { CommandError } from '../errors.ts';

export function relaySetHandler(
  sources: () => ReadonlyMap<string, Source>,
  switched?: (equipment: string, channel: string, state: 'on' | 'off') => void,
): Handler<'RELAY_SET'> {
  return async (args) => {
    const source = sources().get(args.equipment);
    if (!source) throw new CommandError('UNKNOWN_EQUIPMENT', `no equipment "${args.equipment}" on this node`);
    if (!hasRelay(source)) throw new CommandError('UNSUPPORTED', `${args.equipment} has no relay`);
    const channels = source.relayChannels?.() ?? [];
    const channel = args.channel || undefined;
    if (channel !== undefined && !channels.some((c) => c.channel === channel))
      throw new CommandError('UNKNOWN_CHANNEL', `${args.equipment} has no channel "${channel}"`);
    if (channel === undefined && channels.length > 0)
      throw new CommandError(
        'CHANNEL_REQUIRED',
        `${args.equipment} has ${channels.length} channels: name one (${channels.map((c) => c.channel).join(', ')})`,
      );
    const wanted =
      args.state === 'toggle' ? ((await source.getRelay(channel)) === 'on' ? 'off' : 'on') : args.state;
    const confirmed = await source.setRelay(wanted, channel);
    const result: RelaySetResult = {
      equipment: args.equipment,
      ...(channel !== undefined ? { channel } : {}),
      state: confirmed,
    };
    switched?.(args.equipment, channel ?? '', confirmed);
    if (confirmed !== wanted) {
      throw new CommandError('NOT_CONFIRMED', `asked ${wanted}, device reports ${confirmed}`, result);
    }
    return result;
  };
}
