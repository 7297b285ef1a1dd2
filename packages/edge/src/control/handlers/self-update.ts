// SELF_UPDATE: the updater does the work; the outcome is reported by the restarted process. Each
// step the hub's update_failed rule cares about is also an event (started, failed before the
// swap, succeeded or rolled back after it), so a failed update raises an alert even when nobody
// is watching the command.
import { basename } from 'node:path';
import { EVENT_KINDS } from '@wattfleet/protocol';
import type { EventJournal } from '../../events/journal.ts';
import type { Updater } from '../../ops/updater.ts';
import { AGENT_VERSION } from '../../version.ts';
import { DEFERRED, type Handler, type Resumer } from '../dispatcher.ts';
import { CommandError } from '../errors.ts';

type Journal = () => EventJournal | undefined;

/** The live release's tag (its directory name), or the version this process runs. */
function runningVersion(updater: Updater): string {
  const current = updater.currentRelease();
  return current ? basename(current) : AGENT_VERSION;
}

export function selfUpdateHandler(
  getUpdater: () => Updater | undefined,
  journal: Journal = () => undefined,
): Handler<'SELF_UPDATE'> {
  return async (args, ctx) => {
    const updater = getUpdater();
    if (!updater)
      throw new CommandError('UNSUPPORTED', 'self-update is not configured on this node (update.repo)');
    const from = runningVersion(updater);
    const data = { from, to: args.tag, commandId: ctx.id };
    journal()?.emit(EVENT_KINDS.updateStarted, 'info', `update ${from} → ${args.tag} started`, { data });
    try {
      await updater.update(ctx.id, args.tag);
    } catch (err) {
      const code = err instanceof CommandError ? err.code : 'FAILED';
      const reason = (err as Error).message;
      journal()?.emit(EVENT_KINDS.updateFailed, 'error', `update ${from} → ${args.tag} failed: ${reason}`, {
        data: { ...data, code, reason: reason.slice(0, 1000) },
      });
      throw err;
    }
    return DEFERRED;
  };
}

export function selfUpdateResumer(updater: Updater | undefined, journal: Journal = () => undefined): Resumer {
  return async (id) => {
    const pending = updater?.pendingUpdate();
    try {
      const result = await updater?.resume(id);
      if (result && pending) {
        journal()?.emit(
          EVENT_KINDS.updateSucceeded,
          'info',
          `update ${pending.from} → ${pending.to} succeeded`,
          {
            data: { ...pending, commandId: id },
          },
        );
      }
      return result;
    } catch (err) {
      if (pending) {
        const rolledBack = err instanceof CommandError && err.code === 'ROLLED_BACK';
        const reason = (err as Error).message;
        journal()?.emit(
          rolledBack ? EVENT_KINDS.updateRolledBack : EVENT_KINDS.updateFailed,
          'error',
          `update ${pending.from} → ${pending.to} ${rolledBack ? 'rolled back' : 'failed'}: ${reason}`,
          { data: { ...pending, commandId: id, reason: reason.slice(0, 1000) } },
        );
      }
      throw err;
    }
  };
}
