// Wires scenes into a hub: the service (on top of the automation service's switch path), its
// reactions to the bus (a channel's switch settled, a command finished) and the routes.
import type { FastifyInstance } from 'fastify';
import type { ControlLimiter } from '../automation.routes.ts';
import type { AutomationService } from '../automation.service.ts';
import { sceneRoutes } from './scenes.routes.ts';
import { SceneService } from './scenes.service.ts';

const FINAL = new Set(['succeeded', 'failed', 'expired', 'cancelled']);

export const scenesPlugin =
  (automation: AutomationService, limiter: Pick<ControlLimiter, 'route'>) =>
  async (app: FastifyInstance): Promise<void> => {
    const service = new SceneService(app.hub, automation);
    const offs = [
      app.hub.bus.onEvent('equipment.updated', (e) => {
        if (!e.channelId || (e.status !== 'confirmed' && e.status !== 'failed')) return;
        service
          .onChannelSettled(e.channelId)
          .catch((err) =>
            app.log.error({ err, channelId: e.channelId }, 'scene target outcome not recorded'),
          );
      }),
      app.hub.bus.onEvent('command.updated', (e) => {
        if (!FINAL.has(e.state)) return;
        service
          .onCommandFinished(e.commandId)
          .catch((err) =>
            app.log.error({ err, commandId: e.commandId }, 'scene target outcome not recorded'),
          );
      }),
    ];
    app.addHook('onClose', async () => {
      for (const off of offs) off();
    });
    await app.register(sceneRoutes(service, limiter));
  };
