// Creates the demo fleet once (orgs, users, sites, one node per site). Idempotent: a second start
// finds the demo operator org and leaves everything as it is.
import { generateNodeKeyPair } from '@wattfleet/protocol';
import type { HubContext } from '../context.ts';
import { hashPassword } from '../identity/passwords.ts';
import '../identity/schema.ts';
import { DEMO_PASSWORD, DEMO_SITES, DEMO_USERS, type DemoSite } from './demo-fleet.ts';

export const DEMO_OPERATOR = 'Wattfleet Demo Operations';
export const DEMO_INSTALLER = 'SunFix Installers (demo)';

export interface DemoNode {
  nodeId: string;
  siteId: string;
  site: DemoSite;
}

export async function seedDemo(hub: HubContext): Promise<{ created: boolean; nodes: DemoNode[] }> {
  const existing = await hub.db
    .selectFrom('orgs')
    .select('id')
    .where('name', '=', DEMO_OPERATOR)
    .executeTakeFirst();
  if (!existing) await createFleet(hub);
  const rows = await hub.db
    .selectFrom('nodes')
    .innerJoin('sites', 'sites.id', 'nodes.site_id')
    .innerJoin('orgs', 'orgs.id', 'sites.org_id')
    .select(['nodes.id as nodeId', 'sites.id as siteId', 'sites.name as siteName'])
    .where('orgs.name', 'like', 'Household % (demo)')
    .execute();
  const nodes = rows.flatMap((r) => {
    const site = DEMO_SITES.find((s) => r.siteName === `${s.city} home`);
    return site ? [{ nodeId: r.nodeId, siteId: r.siteId, site }] : [];
  });
  return { created: !existing, nodes };
}

async function createFleet(hub: HubContext): Promise<void> {
  const passwordHash = await hashPassword(DEMO_PASSWORD);
  await hub.db.transaction().execute(async (trx) => {
    const operator = await trx
      .insertInto('orgs')
      .values({ name: DEMO_OPERATOR, kind: 'operator' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const installer = await trx
      .insertInto('orgs')
      .values({ name: DEMO_INSTALLER, kind: 'installer' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const households = new Map<string, string>();
    for (const site of DEMO_SITES) {
      const org = await trx
        .insertInto('orgs')
        .values({ name: `Household ${site.city} (demo)`, kind: 'household' })
        .returning('id')
        .executeTakeFirstOrThrow();
      households.set(site.city, org.id);
      const created = await trx
        .insertInto('sites')
        .values({
          org_id: org.id,
          installer_org_id: site.managed ? installer.id : null,
          name: `${site.city} home`,
          timezone: site.timezone,
          latitude: site.latitude,
          longitude: site.longitude,
          system_kw: site.pvKw,
          status: site.status,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      // Demo nodes run inside the hub; their key pair exists only so they look like enrolled agents.
      await trx
        .insertInto('nodes')
        .values({
          site_id: created.id,
          name: `${site.city} gateway`,
          public_key: generateNodeKeyPair().publicKey,
          agent_version: '0.1.0-demo',
          sample_interval_s: 60,
        })
        .execute();
    }
    for (const u of DEMO_USERS) {
      const orgId =
        u.org === 'operator' ? operator.id : u.org === 'installer' ? installer.id : households.get(u.org)!;
      await trx
        .insertInto('users')
        .values({ org_id: orgId, email: u.email, name: u.name, role: u.role, password_hash: passwordHash })
        .execute();
    }
  });
}
