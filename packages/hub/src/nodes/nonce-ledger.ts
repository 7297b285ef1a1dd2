// Replay protection for signed node requests: each (node, nonce) may be used once within the
// signature window. The primary key makes this atomic across hubs; concurrent requests share one
// multi-row INSERT (see coalesce.ts), so a busy hub does not pay a round trip per request.
import { SIGNATURE_WINDOW_MS } from '@wattfleet/protocol';
import type { HubContext } from '../context.ts';
import { Coalescer } from '../storage/coalesce.ts';

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

  private async record(uses: NonceUse[]): Promise<boolean[]> {
    const expires = new Date(Date.now() + 2 * SIGNATURE_WINDOW_MS);
    const r = await this.hub.database.pool.query<{ node_id: string; nonce: string }>(
      `INSERT INTO request_nonces (node_id, nonce, expires_at)
       SELECT n, x, $3 FROM unnest($1::uuid[], $2::text[]) AS u(n, x)
       ON CONFLICT DO NOTHING
       RETURNING node_id, nonce`,
      [uses.map((u) => u.nodeId), uses.map((u) => u.nonce), expires],
    );
    const fresh = new Set(r.rows.map((row) => `${row.node_id}\u0000${row.nonce}`));
    return uses.map((u) => fresh.has(`${u.nodeId}\u0000${u.nonce}`));
  }
}
