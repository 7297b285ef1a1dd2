// `npm start` (demo mode): seed the demo fleet, print the logins, then backfill history and keep
// the simulated nodes reporting while the hub runs.
import type { FastifyInstance } from 'fastify';
import { drainRollups } from '../rollups/rollup.job.ts';
import { DemoRunner } from './demo.runner.ts';
import { seedDemo } from './demo.seed.ts';
import { DEMO_PASSWORD, DEMO_USERS } from './demo-fleet.ts';
import { seedDemoTariffs } from './demo-tariffs.ts';

export async function demoStartHook(app: FastifyInstance): Promise<void> {
  const { created, nodes } = await seedDemo(app.hub);
  await seedDemoTariffs(app.hub, nodes);
  const runner = new DemoRunner(app, app.telemetryIngest, nodes);
  app.addHook('onClose', async () => runner.stop());
  const lines = [
    '',
    `Demo fleet: ${nodes.length} sites${created ? ' (created now)' : ''}. Logins (password "${DEMO_PASSWORD}"):`,
    ...DEMO_USERS.map((u) => `  ${u.role.padEnd(9)} ${u.email}`),
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  // After listening: the portal is usable at once while history fills in behind it.
  app.addHook('onListen', async () => {
    void (async () => {
      const started = Date.now();
      const stored = await runner.backfill();
      await drainRollups(app.hub);
      app.log.info({ stored, ms: Date.now() - started }, 'demo history backfilled');
      runner.start();
    })().catch((err) => app.log.error({ err }, 'demo backfill failed'));
  });
}
