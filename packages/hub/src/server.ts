// Starts a hub process: open storage, migrate, build the app, listen, start the jobs.
import type { FastifyInstance } from 'fastify';
import { buildHub } from './app.ts';
import type { HubConfig } from './config.ts';
import { startControlPlane } from './mqtt/control-plane.ts';
import { startMetricsListener } from './observability/observability.plugin.ts';
import { type Database, openDatabase } from './storage/database.ts';
import { migrate } from './storage/migrate.ts';

export interface RunningHub {
  app: FastifyInstance;
  database: Database;
  url: string;
  /** The METRICS_PORT listener (…/metrics), when configured. */
  metricsUrl: string | undefined;
  stop(): Promise<void>;
}

/** Hooks other modules run after the app is built and before it listens (first admin, demo). */
export type StartHook = (app: FastifyInstance) => Promise<void>;

export async function startHub(config: HubConfig, hooks: StartHook[] = []): Promise<RunningHub> {
  let log: FastifyInstance['log'] | undefined;
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    readUrl: config.databaseReadUrl,
    dataDir: config.dataDir,
    // The work on that connection fails and is retried or answered 503; the hub goes on.
    onConnectionError: (err) => log?.warn({ err: err.message }, 'database connection lost'),
  });
  await migrate(database, config.partitionsAheadDays);
  const app = await buildHub({ config, database });
  log = app.log;
  for (const hook of hooks) await hook(app);
  await app.listen({ host: config.host, port: config.port });
  const metrics = config.metricsPort !== undefined ? await startMetricsListener(app) : undefined;
  await startControlPlane(app);
  app.scheduler.start();
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  let stopped = false;
  return {
    app,
    database,
    url: `${config.tls ? 'https' : 'http'}://${host}:${port}`,
    metricsUrl: metrics?.url,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await metrics?.close();
      await app.close();
      await database.close();
    },
  };
}
