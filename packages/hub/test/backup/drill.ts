// Shared parts of the backup tests: a hub populated through its real API (enrolled node, signed
// telemetry, rollups), the real CLI run as its own process, and a per-table content fingerprint.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { buildHub } from '../../src/app.ts';
import { listTables, type Query } from '../../src/backup/tables.ts';
import { loadConfig } from '../../src/config.ts';
import { drainRollups } from '../../src/rollups/rollup.job.ts';
import type { Database } from '../../src/storage/database.ts';
import { ADMIN_TOKEN, batchId, createSite, type TestHub, TestNode } from '../helpers/hub.ts';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const HOUR = 3_600_000;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `wattfleet-hub ARGS` as its own process, with exactly this database configuration. */
export async function cli(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', CLI, ...args],
      {
        env: { ...process.env, DATABASE_URL: '', WATTFLEET_SECRETS_KEY: '', LOG_LEVEL: 'warn', ...env },
      },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** md5 of every table's rows in a fixed order: equal fingerprints mean equal contents. */
export async function fingerprint(query: Query): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of await listTables(query)) {
    const { rows } = await query(
      `SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS h, count(*)::int AS n FROM "${t}" t`,
    );
    out[t] = `${rows[0]!.n}:${rows[0]!.h}`;
  }
  return out;
}

/**
 * A hub on `database` (already migrated), populated like production: a site, an enrolled node,
 * signed telemetry over six whole hours two days ago (inside raw retention whatever the time of
 * day), and the rollups computed. Returns the site id.
 */
export async function populate(database: Database): Promise<string> {
  const config = loadConfig({}, { adminToken: ADMIN_TOKEN, logLevel: 'warn' });
  const app = await buildHub({ config, database, logger: false });
  await app.ready();
  try {
    const hub: TestHub = {
      app,
      tdb: { database, url: undefined, drop: async () => {} },
      admin: (method, url, body) =>
        app.inject({
          method: method as 'GET',
          url,
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
          ...(body !== undefined ? { payload: body as object } : {}),
        }),
      close: async () => {},
    };
    const site = await createSite(hub);
    const node = await TestNode.enroll(hub, site.siteId);
    const start = Math.floor(Date.now() / HOUR) * HOUR - 48 * HOUR;
    const samples = [];
    for (let m = 0; m < 6 * 60; m++) {
      samples.push({ metric: 'solar_w', ts: start + m * 60_000, value: 1000 + m });
      samples.push({ metric: 'grid_import_wh', ts: start + m * 60_000, value: m * 10 });
    }
    const res = await node.send('/api/v1/ingest/telemetry', { batchId: batchId(), samples });
    assert.equal(res.statusCode, 200, res.body);
    await drainRollups(app.hub);
    return site.siteId;
  } finally {
    await app.close();
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}
