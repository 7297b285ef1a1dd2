// OPEN_TUNNEL: reverse SSH for at most 15 minutes; the TunnelManager owns the whitelist.
import type { TunnelManager } from '../../ops/tunnel.ts';
import type { Handler } from '../dispatcher.ts';
import { CommandError } from '../errors.ts';

export function openTunnelHandler(tunnels: TunnelManager): Handler<'OPEN_TUNNEL'> {
  return async (args) => {
    try {
      const t = await tunnels.open(args.remotePort, args.durationS ?? 900);
      return { remotePort: t.remotePort, closesAt: t.closesAt };
    } catch (err) {
      throw new CommandError(
        err instanceof RangeError ? 'PORT_NOT_ALLOWED' : 'TUNNEL_FAILED',
        (err as Error).message,
      );
    }
  };
}
