// RESTART: hand over to the service manager. The reply comes from the next process (see resume):
// only a process that actually started again can say the restart succeeded.
import type { Supervisor } from '../../ops/supervisor.ts';
import { DEFERRED, type Handler, type Resumer } from '../dispatcher.ts';

export function restartHandler(supervisor: Supervisor): Handler<'RESTART'> {
  return async (args) => {
    await supervisor.restart(args.reason ?? 'RESTART command');
    return DEFERRED;
  };
}

export function restartResumer(startedAt: number): Resumer {
  return async () => ({ restartedAt: startedAt });
}
