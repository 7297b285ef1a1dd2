// Who a node on the broker is (site, still active), for every inbound MQTT message. Entries are
// cached for a few seconds so a deactivation elsewhere reaches this hub quickly; lookups of
// expired or unknown entries that arrive together share one query (a fleet of 100 k nodes
// heartbeating every 10 s would otherwise cost 10 k SELECTs a second).

import { Coalescer } from '../storage/coalesce.ts';
import type { Database } from '../storage/database.ts';

export interface NodeEntry {
  siteId: string;
  active: boolean;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class NodeDirectory {
  private readonly entries = new Map<string, NodeEntry & { at: number }>();
  private readonly lookup: Coalescer<string, NodeEntry | undefined>;

  constructor(
    private readonly database: Database,
    private readonly ttlMs: number,
  ) {
    this.lookup = new Coalescer((ids) => this.load(ids), {
      concurrency: 2,
      maxWeight: 5000,
      key: (id) => id,
    });
  }

  /** The cached entry if it is at most `maxAgeMs` old (default: the TTL), without a lookup. */
  peek(nodeId: string, maxAgeMs = this.ttlMs): NodeEntry | undefined {
    const hit = this.entries.get(nodeId);
    return hit && Date.now() - hit.at < maxAgeMs ? hit : undefined;
  }

  async get(nodeId: string): Promise<NodeEntry | undefined> {
    const hit = this.peek(nodeId);
    if (hit) return hit;
    // A topic level that is no node id (another client's name) is nobody; the cast would fail.
    if (!UUID_RE.test(nodeId)) return undefined;
    return this.lookup.submit(nodeId);
  }

  invalidate(nodeId: string): void {
    this.entries.delete(nodeId);
  }

  private async load(ids: string[]): Promise<(NodeEntry | undefined)[]> {
    const { rows } = await this.database.pool.query<{ id: string; site_id: string; active: boolean }>(
      'SELECT id, site_id, active FROM nodes WHERE id = ANY($1::uuid[])',
      [ids],
    );
    const at = Date.now();
    const found = new Map<string, NodeEntry>();
    for (const r of rows) {
      const entry = { siteId: r.site_id, active: r.active, at };
      this.entries.set(r.id, entry);
      found.set(r.id, entry);
    }
    for (const id of ids) if (!found.has(id)) this.entries.delete(id);
    return ids.map((id) => found.get(id));
  }
}
