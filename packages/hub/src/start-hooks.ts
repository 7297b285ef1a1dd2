// What `wattfleet-hub start` runs between building the app and listening. Order matters: the
// demo fleet brings its own admin, so the first-admin step finds one and prints nothing.
import type { HubConfig } from './config.ts';
import { demoStartHook } from './demo/demo.plugin.ts';
import { firstAdminStartHook } from './identity/first-admin.ts';
import type { StartHook } from './server.ts';
import { secretsStartHook } from './vendors/vendors.plugin.ts';

export function startHooks(config: HubConfig): StartHook[] {
  return [...(config.demo ? [demoStartHook] : []), firstAdminStartHook, secretsStartHook];
}
