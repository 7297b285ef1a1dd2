// Shared by the two restore drill files (one per engine, so each stays inside the test runner's
// per-file time limit on a loaded machine): the contents check and a hub start on the result.
import assert from 'node:assert/strict';
import { ADMIN_TOKEN } from '../helpers/hub.ts';
import { HubProcess } from '../helpers/hub-process.ts';
import { freePort } from './drill.ts';

/** Restored contents equal the original's; a restored table the original lacks may only be an
 * empty partition that migrate() created for "today" (the drill may cross midnight UTC). */
export function assertSameContents(original: Record<string, string>, restored: Record<string, string>) {
  for (const [table, print] of Object.entries(original)) assert.equal(restored[table], print, table);
  for (const table of Object.keys(restored))
    if (!(table in original)) assert.match(`${table} ${restored[table]}`, /^samples_p\d{8} 0:/);
  for (const t of ['rollup_hourly', 'rollup_daily', 'samples', 'nodes'])
    assert.ok(
      Object.keys(original).some((k) => k.startsWith(t) && !k.endsWith(' 0')),
      t,
    );
  const rows = (prefix: string) =>
    Object.entries(original)
      .filter(([k]) => k === prefix || (prefix === 'samples' && k.startsWith('samples_p')))
      .reduce((n, [, v]) => n + Number(v.split(':')[0]), 0);
  assert.ok(rows('rollup_hourly') > 0, 'rollups were computed before the backup');
  assert.ok(rows('samples') > 0, 'telemetry was stored before the backup');
}

export async function startAndAsk(env: NodeJS.ProcessEnv, siteId: string): Promise<void> {
  const hub = new HubProcess({
    ...env,
    PORT: '0',
    HOST: '127.0.0.1',
    MQTT_PORT: String(await freePort()),
    WATTFLEET_ADMIN_TOKEN: ADMIN_TOKEN,
    LOG_LEVEL: 'warn',
    WATTFLEET_DEMO: '0',
  });
  try {
    await hub.start();
    const res = await fetch(`${hub.url}/api/v1/sites/${siteId}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(((await res.json()) as { id: string }).id, siteId);
  } finally {
    await hub.kill();
  }
}
