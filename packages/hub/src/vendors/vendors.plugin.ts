// Wires vendor clouds into a hub: the vault (refusing to start with a key that cannot open the
// stored secrets), the API, the poller (started when the hub listens, stopped on close) and the
// connection-log retention job.
import type { FastifyInstance } from 'fastify';
import { loadMasterKey, type MasterKey } from '../secrets/master-key.ts';
import { assertKeyMatches, Vault } from '../secrets/vault.ts';
import { livePublisher } from './live-publisher.ts';
import { VendorPoller } from './poller.ts';
import { pruneLog } from './vendors.repository.ts';
import { vendorRoutes } from './vendors.routes.ts';
import { VendorService } from './vendors.service.ts';

const LOG_RETENTION_MS = 30 * 86_400_000;

export interface VendorsModule {
  service: VendorService;
  poller: VendorPoller;
  /** The vault, creating the embedded mode's key file on first use; undefined when no key is configured. */
  vault(): Vault | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    vendors: VendorsModule;
  }
}

export async function vendorsPlugin(app: FastifyInstance): Promise<void> {
  const hub = app.hub;
  const cfg = hub.config;
  let master: MasterKey | undefined = loadMasterKey(cfg.secrets);
  // Refuse to run with a key that cannot open what is stored: better no hub than a hub that
  // overwrites credentials it cannot read, or polls with nothing.
  await assertKeyMatches(hub.db, master);
  let vault = master ? new Vault(master) : undefined;
  const getVault = () => {
    if (!vault) {
      master = loadMasterKey(cfg.secrets, { create: true });
      if (master?.generated) {
        app.log.warn(
          { keyFile: master.path },
          `Generated the secrets key ${master.path}: BACK IT UP. Vendor credentials cannot be read without it.`,
        );
      }
      vault = master ? new Vault(master) : undefined;
    }
    return vault;
  };

  const service = new VendorService(hub, cfg.vendors, getVault);
  const poller = new VendorPoller({
    hub,
    config: cfg.vendors,
    get vault() {
      const v = getVault();
      if (!v) throw new Error('no secrets key configured');
      return v;
    },
    ingest: app.telemetryIngest,
    sessions: new Map(),
    publishLive: livePublisher(app),
    log: app.log,
  });
  service.nextDue = (id) => poller.dueAt(id);
  app.decorate('vendors', { service, poller, vault: getVault });
  if (cfg.vendors.poller) app.addHook('onListen', async () => poller.start());
  app.addHook('onClose', async () => poller.stop());
  app.scheduler.add({
    name: 'vendors.connection-log-retention',
    schedule: '0 41 3 * * *',
    run: (h) => pruneLog(h.db, new Date(Date.now() - LOG_RETENTION_MS)),
  });
  await app.register(vendorRoutes(service), { prefix: '/api/v1' });
}
// Decorations (app.vendors) must be visible to the server and tests at the root.
(vendorsPlugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

/** Start hook of `wattfleet-hub start`: the embedded default gets its key file (and the warning) on first start. */
export async function secretsStartHook(app: FastifyInstance): Promise<void> {
  app.vendors.vault();
}
