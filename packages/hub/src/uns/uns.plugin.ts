// Wires the unified namespace export into a hub: routes under /api/v1, and the publisher, which
// listens to committed telemetry and publishes through the control plane's broker once one runs
// (without a running broker, updates are counted as dropped: no_broker).
import type { FastifyInstance } from 'fastify';
import { unsConfig } from './config.ts';
import { UnsPublisher } from './uns.publisher.ts';
import { unsRoutes } from './uns.routes.ts';
import { UnsService } from './uns.service.ts';

declare module 'fastify' {
  interface FastifyInstance {
    uns: { publisher: UnsPublisher; service: UnsService };
  }
}

async function unsPluginFn(app: FastifyInstance): Promise<void> {
  const config = unsConfig(app.hub.config);
  const cp = () => (app.hasDecorator('controlPlane') ? app.controlPlane : undefined);
  const publisher = new UnsPublisher(
    app.hub,
    config,
    async (topic, payload, opts) => (await cp()?.publish(topic, payload, opts)) ?? false,
    app.log,
  );
  const service = new UnsService(app.hub, config, () => {
    const plane = cp();
    if (!plane?.started || !plane.config.mosquitto || !app.hub.config.mqttUrl) return;
    plane
      .syncMosquitto()
      .catch((err) => app.log.warn({ err }, 'mosquitto files not synced after a uns change'));
  });
  if (config.enabled) publisher.start();
  app.decorate('uns', { publisher, service });
  app.addHook('onClose', async () => publisher.close());
  await app.register(unsRoutes(service), { prefix: '/api/v1' });
}
// Root-level (not encapsulated), so `app.uns` is visible to the server and tests.
(unsPluginFn as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
export const unsPlugin = unsPluginFn;
