// What the benches share to set up a hub: the admin token they start it with, the metrics their
// simulated nodes send, and a site to enroll nodes into.
import type { HubProcess } from '../packages/hub/test/helpers/hub-process.ts';

export const BENCH_TOKEN = 'bench-admin-token-0123456789';

export const BENCH_METRICS = [
  'solar_w',
  'load_w',
  'grid_w',
  'battery_w',
  'battery_soc',
  'voltage_l1',
  'solar_wh',
  'load_wh',
  'grid_import_wh',
  'grid_export_wh',
];

/** POSTs as the bench's admin; throws on anything but 2xx. */
export async function adminPost(
  hub: HubProcess,
  path: string,
  body: unknown,
): Promise<Record<string, string>> {
  const r = await fetch(`${hub.url}/api/v1${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${BENCH_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return (await r.json()) as Record<string, string>;
}

/** A fresh org and site (UTC); returns a function that makes one enrollment code for it. */
export async function benchSite(hub: HubProcess): Promise<() => Promise<string>> {
  const org = await adminPost(hub, '/orgs', { name: 'Bench', kind: 'operator' });
  const site = await adminPost(hub, '/sites', { orgId: org.id, name: 'Bench site', timezone: 'UTC' });
  return async () => (await adminPost(hub, `/sites/${site.id}/enrollment-codes`, {})).code!;
}
