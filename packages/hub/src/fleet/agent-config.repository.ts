// The only place the agent config editor's SQL lives. Callers pass a tenant transaction
// (withTenant), so row-level security hides other sites' commands as well.
import type { Kysely } from 'kysely';
import type { DB } from '../storage/schema.ts';

export interface AppliedConfigRow {
  id: string;
  args: Record<string, unknown>;
  updated_at: Date;
}

/** The node's newest succeeded CONFIG_PUSH command: the config it last accepted. */
export function newestSucceededConfigPush(
  db: Kysely<DB>,
  nodeId: string,
): Promise<AppliedConfigRow | undefined> {
  return db
    .selectFrom('commands')
    .select(['id', 'args', 'updated_at'])
    .where('node_id', '=', nodeId)
    .where('type', '=', 'CONFIG_PUSH')
    .where('state', '=', 'succeeded')
    .orderBy('updated_at', 'desc')
    .limit(1)
    .executeTakeFirst();
}
