// A real hub on a real database for tests, plus a node client that enrolls and signs like an agent.

import type { KeyObject } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { generateNodeKeyPair, privateKeyFromPem, signRequest } from '@wattfleet/protocol';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildHub } from '../../src/app.ts';
import { type HubConfig, loadConfig } from '../../src/config.ts';
import type { Engine } from '../../src/storage/database.ts';
import { openTestDatabase, type TestDatabase } from './engines.ts';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestHub {
  app: FastifyInstance;
  tdb: TestDatabase;
  admin: (method: string, url: string, body?: unknown) => Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/** `logs` collects the hub's log lines (pino JSON, warn and above) for tests that assert on them. */
export async function startTestHub(
  engine: Engine,
  overrides: Partial<HubConfig> = {},
  opts: { logs?: string[] } = {},
): Promise<TestHub> {
  const tdb = await openTestDatabase(engine);
  const config = loadConfig({}, { adminToken: ADMIN_TOKEN, logLevel: 'warn', ...overrides });
  const logs = opts.logs;
  const logger = logs ? { level: 'warn', stream: { write: (line: string) => logs.push(line) } } : false;
  const app = await buildHub({ config, database: tdb.database, logger });
  await app.ready();
  return {
    app,
    tdb,
    admin: (method, url, body) =>
      app.inject({
        method: method as 'GET',
        url,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        ...(body !== undefined ? { payload: body as object } : {}),
      }),
    close: async () => {
      await app.close();
      await tdb.drop();
    },
  };
}

export interface Fixture {
  orgId: string;
  siteId: string;
  timezone: string;
}

export async function createSite(
  hub: TestHub,
  site: { timezone?: string; latitude?: number; longitude?: number; name?: string } = {},
): Promise<Fixture> {
  const org = await hub.admin('POST', '/api/v1/orgs', { name: 'Household A', kind: 'household' });
  if (org.statusCode !== 201) throw new Error(`org: ${org.body}`);
  const timezone = site.timezone ?? 'Europe/Berlin';
  const created = await hub.admin('POST', '/api/v1/sites', {
    orgId: org.json().id,
    name: site.name ?? 'Roof 1',
    timezone,
    latitude: site.latitude ?? 52.5,
    longitude: site.longitude ?? 13.4,
  });
  if (created.statusCode !== 201) throw new Error(`site: ${created.body}`);
  return { orgId: org.json().id, siteId: created.json().id, timezone };
}

export class TestNode {
  constructor(
    readonly hub: TestHub,
    readonly nodeId: string,
    readonly siteId: string,
    readonly key: KeyObject,
    readonly mqttPassword: string,
  ) {}

  static async enroll(hub: TestHub, siteId: string): Promise<TestNode> {
    const code = await hub.admin('POST', `/api/v1/sites/${siteId}/enrollment-codes`, {});
    if (code.statusCode !== 201) throw new Error(`code: ${code.body}`);
    const pair = generateNodeKeyPair();
    const res = await hub.app.inject({
      method: 'POST',
      url: '/api/v1/nodes/enroll',
      payload: { code: code.json().code, publicKey: pair.publicKey, name: 'test agent' },
    });
    if (res.statusCode !== 200) throw new Error(`enroll: ${res.body}`);
    const body = res.json();
    return new TestNode(
      hub,
      body.nodeId,
      body.siteId,
      privateKeyFromPem(pair.privateKeyPem),
      body.mqtt.password,
    );
  }

  /** Signs and sends like the agent does; gzip optional. */
  send(
    url: string,
    body: unknown,
    opts: { gzip?: boolean; now?: number; headers?: Record<string, string>; raw?: Buffer } = {},
  ) {
    const json = opts.raw ?? Buffer.from(JSON.stringify(body));
    const bytes = opts.gzip ? gzipSync(json) : json;
    const headers = {
      'content-type': 'application/json',
      ...(opts.gzip ? { 'content-encoding': 'gzip' } : {}),
      ...signRequest(this.key, this.nodeId, 'POST', url, bytes, opts.now),
      ...opts.headers,
    };
    return this.hub.app.inject({ method: 'POST', url, headers, payload: bytes });
  }
}

let seq = 0;
export function batchId(prefix = 'b'): string {
  seq += 1;
  return `${prefix}-${process.pid}-${Date.now()}-${seq}`;
}
