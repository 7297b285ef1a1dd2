// Wires the equipment registry into a hub: a node's event batch carrying an equipment inventory
// updates the registry; routes under /api/v1.
import type { FastifyInstance } from 'fastify';
import { equipmentRoutes } from './equipment.routes.ts';
import { EquipmentService } from './equipment.service.ts';

export async function equipmentPlugin(app: FastifyInstance): Promise<void> {
  const service = new EquipmentService(app.hub);
  const off = app.hub.bus.onEvent('node.events', (e) => {
    service
      .onNodeEvents(e.nodeId)
      .then((changed) => {
        if (changed) app.hub.bus.emitEvent('equipment.changed', { nodeId: e.nodeId, siteId: e.siteId });
      })
      .catch((err) => app.log.error({ err, nodeId: e.nodeId }, 'equipment inventory not applied'));
  });
  app.addHook('onClose', async () => off());
  await app.register(equipmentRoutes(service), { prefix: '/api/v1' });
}
