// What `wattfleet-hub start` runs between building the app and listening. Modules that need a
// start step (first admin, demo fleet) add theirs here.
import type { HubConfig } from './config.ts';
import type { StartHook } from './server.ts';

export function startHooks(_config: HubConfig): StartHook[] {
  return [];
}
