// Latest values of a site's nodes: fetched once, then kept current from realtime snapshots,
// with a slow poll as the safety net while the socket is down.
import { useEffect, useState } from 'react';
import { type LatestValue, nodesApi } from '../api/nodes.ts';
import { type HubEventData, realtime } from '../realtime/client.ts';

export type LatestByNode = Record<string, LatestValue[]>;

const POLL_MS = 30_000;

/** Values of a live snapshot: site-level metrics and per-equipment ones. */
function valuesOf(snapshot: HubEventData['node.live']['snapshot']): LatestValue[] {
  const ts = new Date(snapshot.ts).toISOString();
  const out: LatestValue[] = Object.entries(snapshot.values ?? {}).map(([metric, value]) => ({
    metric,
    value,
    equipment: '',
    ts,
  }));
  for (const [equipment, values] of Object.entries(snapshot.equipment ?? {}))
    for (const [metric, value] of Object.entries(values)) out.push({ metric, value, equipment, ts });
  return out;
}

export function useLiveValues(
  siteId: string | undefined,
  nodeIds: string[],
): { latest: LatestByNode; at: number } {
  const [latest, setLatest] = useState<LatestByNode>({});
  const [at, setAt] = useState(0);
  const key = nodeIds.join(',');
  useEffect(() => {
    if (!siteId) return;
    let cancelled = false;
    const ids = key ? key.split(',') : [];
    const load = async () => {
      const entries = await Promise.all(
        ids.map(async (id) => [id, await nodesApi.latest(id).catch(() => [] as LatestValue[])] as const),
      );
      if (!cancelled) {
        setLatest(Object.fromEntries(entries));
        setAt(Date.now());
      }
    };
    void load();
    const timer = setInterval(() => {
      if (realtime.state !== 'open') void load();
    }, POLL_MS);
    const unsubscribe = realtime.subscribe({ siteId });
    const off = realtime.onEvent('node.live', (data) => {
      const nodeId = data.nodeId;
      if (!ids.includes(nodeId)) return;
      const values = valuesOf(data.snapshot);
      setLatest((prev) => {
        const merged = new Map((prev[nodeId] ?? []).map((v) => [`${v.metric}|${v.equipment}`, v]));
        for (const v of values) merged.set(`${v.metric}|${v.equipment}`, v);
        return { ...prev, [nodeId]: [...merged.values()] };
      });
      setAt(Date.now());
    });
    return () => {
      cancelled = true;
      clearInterval(timer);
      unsubscribe();
      off();
    };
  }, [siteId, key]);
  return { latest, at };
}
