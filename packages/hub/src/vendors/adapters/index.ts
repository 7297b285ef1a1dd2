// The adapter registry: vendor name → adapter. The blueprint is registered too so the portal and
// the API can be tried end to end against its stand-in; it is marked as an example in its label.
import type { VendorAdapter, VendorName } from './adapter.ts';
import { blueprintAdapter } from './blueprint.ts';
import { enphaseAdapter } from './enphase.ts';
import { selectLiveAdapter } from './select-live.ts';

// biome-ignore lint/suspicious/noExplicitAny: each adapter has its own credential type.
export const ADAPTERS: ReadonlyMap<VendorName, VendorAdapter<any>> = new Map<VendorName, VendorAdapter<any>>([
  [selectLiveAdapter.vendor, selectLiveAdapter],
  [enphaseAdapter.vendor, enphaseAdapter],
  [blueprintAdapter.vendor, blueprintAdapter],
]);

export const VENDOR_NAMES = [...ADAPTERS.keys()] as VendorName[];
