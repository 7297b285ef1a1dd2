// Wires switchable equipment into a hub: the service, its reactions to the bus (RELAY_SET
// outcomes, node event batches carrying a channel inventory), the control rate limits and the
// routes under /api/v1.
import { createHash } from 'node:crypto';
import { WattfleetError } from '@wattfleet/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { actorOf } from '../auth/authenticate.ts';
import { automationRoutes, type ControlLimiter } from './automation.routes.ts';
import { AutomationService } from './automation.service.ts';
import { EdgeAutomationService } from './edge/edge.service.ts';
import { rulesPlugin } from './rules/rules.plugin.ts';
import { scenesPlugin } from './scenes/scenes.plugin.ts';
import { schedulesPlugin } from './schedules/schedules.plugin.ts';

/** Switches one user may ask for per minute, across all channels. */
export const SWITCHES_PER_USER_PER_MINUTE = 60;
/** Switches one channel takes per minute, whoever asks: a load is not flapped from the portal. */
export const SWITCHES_PER_CHANNEL_PER_MINUTE = 10;
/** Coarse limit per credential, applied before authentication. */
const REQUESTS_PER_CREDENTIAL_PER_MINUTE = 120;

export async function automationPlugin(app: FastifyInstance): Promise<void> {
  const hub = app.hub;
  const service = new AutomationService(hub, () => app.controlPlane.commands);
  // Edge execution (13.7): bundles follow every change of what a node executes.
  const edge = new EdgeAutomationService(hub, () => app.controlPlane.commands, app.log);
  const refreshSite = (siteId: string) => {
    edge.refreshSite(siteId).catch((err) => app.log.error({ err, siteId }, 'automation bundle not pushed'));
  };
  service.onAutomationChanged = refreshSite;
  // Executions a hub stored but did not get to record (it stopped in between) are read again.
  app.scheduler.add({
    name: 'automation.edge-executions',
    schedule: '40 * * * * *',
    run: () => edge.sweep(),
  });

  const offs = [
    hub.bus.onEvent('command.updated', (e) => {
      service
        .onCommandUpdated(e.commandId, e.state)
        .catch((err) => app.log.error({ err, commandId: e.commandId }, 'channel outcome not recorded'));
    }),
    hub.bus.onEvent('node.events', (e) => {
      service
        .onNodeEvents(e.nodeId, e.siteId)
        .catch((err) => app.log.error({ err, nodeId: e.nodeId }, 'channel inventory not applied'));
      // The hub that stored the batch records its executions (a bridged copy would find them claimed).
      if (e.batchId && !(e as { remote?: boolean }).remote)
        edge
          .onNodeEvents(e.nodeId, e.siteId, e.batchId)
          .catch((err) => app.log.error({ err, nodeId: e.nodeId }, 'edge executions not recorded'));
    }),
    hub.bus.onEvent('command.updated', (e) => {
      edge
        .onCommandUpdated(e.commandId, e.state)
        .catch((err) =>
          app.log.error({ err, commandId: e.commandId }, 'automation bundle outcome not recorded'),
        );
    }),
  ];
  app.addHook('onClose', async () => {
    for (const off of offs) off();
  });

  // Per-user and per-channel limits are checked once the caller is known, with limiters of the
  // rate-limit plugin's store; the key of the one being checked is handed over per request.
  const channelKey = new WeakMap<FastifyRequest, string>();
  const perUser = app.createRateLimit({
    max: SWITCHES_PER_USER_PER_MINUTE,
    timeWindow: 60_000,
    keyGenerator: (req) => {
      const a = actorOf(req);
      return `control-user:${a.kind === 'user' ? a.userId : a.kind}`;
    },
  });
  const perChannel = app.createRateLimit({
    max: SWITCHES_PER_CHANNEL_PER_MINUTE,
    timeWindow: 60_000,
    keyGenerator: (req) => `control-channel:${channelKey.get(req) ?? ''}`,
  });
  const refuse = (ttlInSeconds: number): never => {
    throw new WattfleetError('WF_RATE_LIMITED', undefined, undefined, { retryAfterS: ttlInSeconds });
  };
  const limiter: ControlLimiter = {
    async check(request, channelIds) {
      const u = await perUser(request);
      if (!u.isAllowed && u.isExceeded) refuse(u.ttlInSeconds);
      for (const id of channelIds) {
        channelKey.set(request, id);
        const c = await perChannel(request);
        if (!c.isAllowed && c.isExceeded) refuse(c.ttlInSeconds);
      }
    },
    route: {
      max: REQUESTS_PER_CREDENTIAL_PER_MINUTE,
      timeWindow: 60_000,
      keyGenerator: (request) => {
        const credential = request.headers.authorization ?? request.ip;
        return `control:${createHash('sha256').update(credential).digest('base64url').slice(0, 22)}`;
      },
    },
  };

  await app.register(automationRoutes(service, limiter), { prefix: '/api/v1' });
  await app.register(scenesPlugin(service, limiter), { prefix: '/api/v1' });
  await schedulesPlugin(app, service, refreshSite); // schedules: routes, runner job (schedules/)
  await app.register(rulesPlugin(service), { prefix: '/api/v1' });
}
