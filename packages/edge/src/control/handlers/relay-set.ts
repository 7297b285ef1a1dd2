// RELAY_SET: switch through the equipment's RelayCapability and reply with the state the device
// confirms, not the one we asked for.
import { hasRelay, type Source } from '../../sources/types.ts';
import type { Handler } from '../dispatcher.ts';
import { CommandError } from '../errors.ts';

export function relaySetHandler(sources: () => ReadonlyMap<string, Source>): Handler<'RELAY_SET'> {
  return async (args) => {
    const source = sources().get(args.equipment);
    if (!source) throw new CommandError('UNKNOWN_EQUIPMENT', `no equipment "${args.equipment}" on this node`);
    if (!hasRelay(source)) throw new CommandError('UNSUPPORTED', `${args.equipment} has no relay`);
    const wanted = args.state === 'toggle' ? ((await source.getRelay()) === 'on' ? 'off' : 'on') : args.state;
    const confirmed = await source.setRelay(wanted);
    if (confirmed !== wanted) {
      throw new CommandError('NOT_CONFIRMED', `asked ${wanted}, device reports ${confirmed}`, {
        state: confirmed,
      });
    }
    return { equipment: args.equipment, state: confirmed };
  };
}
