// Watching commands the portal sent: each tracked command is refreshed (with its result and
// history) whenever the hub pushes command.updated for it, with a slow poll while the socket is
// down, until it reaches a final state.
import { useCallback, useEffect, useRef, useState } from 'react';
import { type Command, commandsApi, TERMINAL_STATES } from '../api/commands.ts';
import { realtime } from '../realtime/client.ts';

const POLL_MS = 3000;

export function useWatchedCommands(): {
  commands: Command[];
  track: (cmd: Command) => void;
  byId: Record<string, Command>;
} {
  const [byId, setById] = useState<Record<string, Command>>({});
  const order = useRef<string[]>([]);
  const subs = useRef(new Map<string, () => void>());

  const refresh = useCallback(async (nodeId: string, id: string) => {
    try {
      const cmd = await commandsApi.get(nodeId, id);
      setById((prev) => ({ ...prev, [id]: { ...prev[id], ...cmd } }));
    } catch {
      // A transient failure: the next event or poll tries again.
    }
  }, []);

  const track = useCallback(
    (cmd: Command) => {
      if (!order.current.includes(cmd.id)) order.current = [cmd.id, ...order.current];
      setById((prev) => ({ ...prev, [cmd.id]: cmd }));
      const nodeId = cmd.nodeId;
      if (nodeId && !subs.current.has(nodeId)) subs.current.set(nodeId, realtime.subscribe({ nodeId }));
      // The command may have moved on before the subscription was in place.
      if (nodeId) void refresh(nodeId, cmd.id);
    },
    [refresh],
  );

  useEffect(() => {
    const off = realtime.onEvent('command.updated', (d) => {
      if (order.current.includes(d.commandId)) void refresh(d.nodeId, d.commandId);
    });
    const currentSubs = subs.current;
    return () => {
      off();
      for (const un of currentSubs.values()) un();
      currentSubs.clear();
    };
  }, [refresh]);

  useEffect(() => {
    const timer = setInterval(() => {
      if (realtime.state === 'open') return;
      for (const c of Object.values(byId))
        if (c.nodeId && !TERMINAL_STATES.includes(c.state)) void refresh(c.nodeId, c.id);
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [byId, refresh]);

  const commands = order.current.map((id) => byId[id]).filter((c): c is Command => !!c);
  return { commands, track, byId };
}
