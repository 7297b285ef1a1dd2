// Replay protection for signed node requests: each (node, nonce) may be used once within the
// signature window. The primary key makes this atomic across hubs; concurrent requests share one
// multi-row INSERT (see coalesce.ts), so a busy hub does not pay a round trip per request.
import { SIGNATURE_WINDOW_MS } from '@wattfleet/protocol';
import type { HubContext } from '../context.ts';
import { Coalescer } from '../storage/coalesce.ts';
import { spendNonces } from './nodes.repository.ts';

interface NonceUse {
  nodeId: string;
  nonce: string;
}

export class NonceLedger {
  private readonly group: Coalescer<NonceUse, boolean>;

  constructor(private readonly hub: HubContext) {
    this.group = new Coalescer((uses) => this.record(uses), {
      concurrency: 2,
      maxWeight: 1000,
      // The same nonce twice at once: the second waits and then finds the first's row.
      key: (u) => `${u.nodeId}\u0000${u.nonce}`,
    });
  }

  /** True when the nonce was unused (and is now spent); false for a replay. */
  use(nodeId: string, nonce: string): Promise<boolean> {
    return this.group.submit({ nodeId, nonce });
  }

  private record(uses: NonceUse[]): Promise<boolean[]> {
    return spendNonces(this.hub.database, uses, new Date(Date.now() + 2 * SIGNATURE_WINDOW_MS));
  }
}
