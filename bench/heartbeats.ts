// B: heartbeat writes. N nodes each send one heartbeat; the hub buffers them and writes one
// UPDATE … FROM unnest per flush. Baseline in the same run: one UPDATE per heartbeat, each its own
// transaction (what a naive handler does). `npm run bench -- heartbeats [nodes]` (PostgreSQL).
import { sql } from 'kysely';
import { orgOwnedSiteScope } from '../packages/hub/src/auth/access.ts';
import { loadConfig } from '../packages/hub/src/config.ts';
import { HubBus, type HubContext } from '../packages/hub/src/context.ts';
import { HeartbeatService } from '../packages/hub/src/heartbeat/heartbeat.service.ts';
import { openDatabase } from '../packages/hub/src/storage/database.ts';
import { migrate } from '../packages/hub/src/storage/migrate.ts';
import { createPgDatabase } from '../packages/hub/test/helpers/engines.ts';

export async function main(args: string[]): Promise<void> {
  const n = Number(args[0] ?? 20_000);
  const created = await createPgDatabase();
  const database = await openDatabase({ databaseUrl: created.url, poolSize: 8 });
  try {
    await migrate(database);
    const hub: HubContext = {
      config: loadConfig({}, { logLevel: 'warn' }),
      database,
      db: database.db,
      bus: new HubBus(),
      siteScope: orgOwnedSiteScope,
    };
    const org = await sql<{
      id: string;
    }>`INSERT INTO orgs (name, kind) VALUES ('bench', 'operator') RETURNING id`.execute(hub.db);
    const site = await sql<{
      id: string;
    }>`INSERT INTO sites (org_id, name, timezone) VALUES (${org.rows[0]!.id}, 'b', 'UTC') RETURNING id`.execute(
      hub.db,
    );
    const { rows } = await sql<{ id: string }>`
      INSERT INTO nodes (site_id, name) SELECT ${site.rows[0]!.id}, 'n' || g FROM generate_series(1, ${n}) g RETURNING id`.execute(
      hub.db,
    );
    const ids = rows.map((r) => r.id);

    // Baseline: one statement (= one transaction) per heartbeat, 8 in flight like a busy pool.
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < ids.length) {
          const id = ids[next++]!;
          await sql`UPDATE nodes SET last_seen_at = now(), status = 'online', clock_offset_ms = 0,
            last_status = ${JSON.stringify({ state: 'online', clock: Date.now() })}::jsonb WHERE id = ${id}`.execute(
            hub.db,
          );
        }
      }),
    );
    const baseline = n / ((performance.now() - t0) / 1000);

    const service = new HeartbeatService(hub, {
      offlineAfterS: 300,
      clockDriftMs: 60_000,
      onOnline: () => {},
      log: { error: () => {} },
    });
    const t1 = performance.now();
    const now = Date.now();
    for (const id of ids) service.record(id, { state: 'online', clock: now }, now);
    await service.flush();
    const batched = n / ((performance.now() - t1) / 1000);
    console.log(
      `heartbeats: ratio=${(batched / baseline).toFixed(1)} batched=${Math.round(batched)}/s ` +
        `baseline=${Math.round(baseline)}/s nodes=${n} statements=${service.stats.flushes}`,
    );
  } finally {
    await database.close();
    await created.drop();
  }
}
