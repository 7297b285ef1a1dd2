// The fleet table's data kept live: GET /fleet/sites once, then the realtime socket. A node status
// or alert change on a visible site refetches the overview (health is the hub's rule, so it is not
// re-derived here), coalesced so a burst of events costs one request; live snapshots only move
// "last communication" forward in place. After a reconnect the overview is refetched (events may
// have been missed meanwhile), and while the socket is down a slow poll keeps the table honest.
import { useEffect, useMemo, useState } from 'react';
import { type FleetSite, fleetApi } from '../api/fleet.ts';
import { realtime } from '../realtime/client.ts';
import { useAsync } from './use-async.ts';

export type LiveFleetSite = FleetSite;

const REFETCH_DELAY_MS = 300;
const POLL_MS = 30_000;
const TICK_MS = 5_000;
/** The hub accepts at most 1000 subscriptions per socket; a larger fleet is polled instead. */
export const MAX_LIVE_SITES = 900;

/** siteId: one site's row only (a site page), same rule and same live updates. */
export function useLiveFleet(siteId?: string): {
  data: LiveFleetSite[] | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
  /** Re-rendered every few seconds so relative times ("12s ago") keep moving. */
  now: number;
} {
  const fleet = useAsync((signal) => fleetApi.sites(signal, siteId), [siteId]);
  const { reload } = fleet;
  const [lastSeen, setLastSeen] = useState<Record<string, string>>({});
  const [now, setNow] = useState(() => Date.now());
  const siteKey = useMemo(
    () =>
      (fleet.data ?? [])
        .map((s) => s.id)
        .sort()
        .join(','),
    [fleet.data],
  );

  useEffect(() => {
    const ids = siteKey ? siteKey.split(',') : [];
    const visible = new Set(ids);
    const live = ids.length <= MAX_LIVE_SITES;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const refetch = () => {
      timer ??= setTimeout(() => {
        timer = null;
        reload();
      }, REFETCH_DELAY_MS);
    };
    const unsubscribe = live && ids.length ? realtime.subscribeMany({ siteIds: ids }) : () => {};
    const offs = [
      realtime.onEvent('node.status', (d) => {
        if (visible.has(d.siteId)) refetch();
      }),
      realtime.onEvent('alert.updated', (d) => {
        if (d.siteId && visible.has(d.siteId)) refetch();
      }),
      realtime.onEvent('node.live', (d) => {
        if (!visible.has(d.siteId)) return;
        const at = new Date(d.snapshot.ts).toISOString();
        setLastSeen((prev) => ((prev[d.siteId] ?? '') >= at ? prev : { ...prev, [d.siteId]: at }));
      }),
    ];
    let wasOpen = realtime.state === 'open';
    const offState = realtime.onState((state) => {
      if (state === 'open' && !wasOpen) refetch();
      wasOpen = state === 'open';
    });
    const poll = setInterval(() => {
      if (!live || realtime.state !== 'open') reload();
    }, POLL_MS);
    return () => {
      if (timer) clearTimeout(timer);
      clearInterval(poll);
      offState();
      for (const off of offs) off();
      unsubscribe();
    };
  }, [siteKey, reload]);

  useEffect(() => {
    const tick = setInterval(() => setNow(Date.now()), TICK_MS);
    return () => clearInterval(tick);
  }, []);

  const data = useMemo(
    () =>
      fleet.data?.map((s) => {
        const seen = lastSeen[s.id];
        return seen && seen > (s.lastCommunication ?? '') ? { ...s, lastCommunication: seen } : s;
      }),
    [fleet.data, lastSeen],
  );
  return { data, error: fleet.error, loading: fleet.loading, reload, now };
}
