// SELF_UPDATE: the updater does the work; the outcome is reported by the restarted process.
import type { Updater } from '../../ops/updater.ts';
import { DEFERRED, type Handler, type Resumer } from '../dispatcher.ts';
import { CommandError } from '../errors.ts';

export function selfUpdateHandler(getUpdater: () => Updater | undefined): Handler<'SELF_UPDATE'> {
  return async (args, ctx) => {
    const updater = getUpdater();
    if (!updater)
      throw new CommandError('UNSUPPORTED', 'self-update is not configured on this node (update.repo)');
    await updater.update(ctx.id, args.tag);
    return DEFERRED;
  };
}

export function selfUpdateResumer(updater: Updater | undefined): Resumer {
  return async (id) => updater?.resume(id);
}
