// The only place the fleet overview's SQL lives. Callers pass a tenant transaction (withTenant),
// so row-level security filters these queries a second time after the code-level scope.
import type { Kysely } from 'kysely';
import { controlChannel } from '../nodes/control-channel.ts';
import type { DB } from '../storage/schema.ts';

export { listEnrollmentCodes } from '../nodes/nodes.repository.ts';

/** Sites, their nodes and their open alerts (by severity and rule) within `scope`. */
export async function fleetRows(trx: Kysely<DB>, scope: 'all' | string[], offlineAfterS: number) {
  let sitesQ = trx
    .selectFrom('sites')
    .leftJoin('orgs as inst', 'inst.id', 'sites.installer_org_id')
    .select([
      'sites.id',
      'sites.name',
      'sites.timezone',
      'sites.status',
      'sites.org_id',
      'sites.installer_org_id',
      'inst.name as installer_name',
    ])
    .orderBy('sites.name');
  let nodesQ = trx
    .selectFrom('nodes')
    .select([
      'id',
      'site_id',
      'name',
      'status',
      'active',
      'last_seen_at',
      'agent_version',
      controlChannel(offlineAfterS).as('control_channel'),
    ])
    .orderBy('name');
  let alertsQ = trx
    .selectFrom('alerts')
    .select(['site_id', 'severity', 'rule', (eb) => eb.fn.countAll<string>().as('n')])
    .where('state', '<>', 'resolved')
    .groupBy(['site_id', 'severity', 'rule']);
  if (scope !== 'all') {
    sitesQ = sitesQ.where('sites.id', 'in', scope);
    nodesQ = nodesQ.where('site_id', 'in', scope);
    alertsQ = alertsQ.where('site_id', 'in', scope);
  }
  // One after the other: a transaction is one connection.
  return { sites: await sitesQ.execute(), nodes: await nodesQ.execute(), alerts: await alertsQ.execute() };
}
