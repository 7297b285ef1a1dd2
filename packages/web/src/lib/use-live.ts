// Latest values of a site's nodes: fetched once, then kept current from realtime snapshots,
// with a slow poll as the safety net while the socket is down.
import { useEffect, useState } from 'react';
import { type LatestValue, nodesApi } from '../api/nodes.ts';
import { realtime } from '../realtime/client.ts';

export type LatestByNode = Record<string, LatestValue[]>;

const POLL_MS = 30_000;

/** Pulls values out of a live snapshot, whatever of the two plausible shapes the hub sends. */
function valuesOf(message: Record<string, unknown>): LatestValue[] | null {
  const ts =
    typeof message.ts === 'string' ? message.ts : new Date(Number(message.ts ?? Date.now())).toISOString();
  const raw = (message.values ?? message.samples ?? message.metrics) as unknown;
  if (Array.isArray(raw)) {
    type Entry = { metric: string; value: number; equipment?: string; ts?: string | number };
    return raw
      .filter((v): v is Entry => typeof v?.metric === 'string' && typeof v?.value === 'number')
      .map((v) => ({
        metric: v.metric,
        value: v.value,
        equipment: v.equipment ?? '',
        ts: v.ts !== undefined ? new Date(v.ts).toISOString() : ts,
      }));
  }
  if (raw && typeof raw === 'object') {
    return Object.entries(raw as Record<string, unknown>)
      .filter(([, v]) => typeof v === 'number')
      .map(([metric, value]) => ({ metric, value: value as number, equipment: '', ts }));
  }
  return null;
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
    const off = realtime.onMessage((message) => {
      const nodeId = (message.nodeId ?? message.node_id) as string | undefined;
      if (!nodeId || !ids.includes(nodeId)) return;
      if (!['live', 'snapshot', 'telemetry'].includes(message.type)) return;
      const values = valuesOf(message);
      if (!values) return;
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
