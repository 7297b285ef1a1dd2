// End to end against the real hub (packages/hub buildHub, PGlite, embedded aedes broker): the
// admin API creates an enrollment code, the agent enrolls over HTTP, uploads signed telemetry,
// heartbeats over MQTT, and answers a FETCH_LOGS command by uploading its log to the hub.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import pino from 'pino';
import { buildHub } from '../../hub/src/app.ts';
import { loadConfig } from '../../hub/src/config.ts';
import { startControlPlane } from '../../hub/src/mqtt/control-plane.ts';
import { type Database, openDatabase } from '../../hub/src/storage/database.ts';
import { migrate } from '../../hub/src/storage/migrate.ts';
import { enroll } from '../src/identity/enroll.ts';
import { signingKey } from '../src/identity/identity.ts';
import { StandInSupervisor } from '../src/ops/supervisor.ts';
import { Outbox } from '../src/outbox/outbox.ts';
import { Agent } from '../src/runtime/agent.ts';
import { HttpTransport } from '../src/uplink/http-transport.ts';
import { Uplink } from '../src/uplink/uplink.ts';

const ADMIN_TOKEN = 'edge-e2e-admin-token-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'wf-e2e-'));
const logger = pino({ level: 'silent' });

async function until<T>(
  get: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (v) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(100);
  }
}

describe('agent against the real hub', () => {
  let database: Database;
  let app: FastifyInstance;
  let hubUrl: string;
  let brokerUrl: string;
  let siteId: string;
  let agent: Agent | undefined;
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(new URL(path, hubUrl), {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    // biome-ignore lint/suspicious/noExplicitAny: hub answers are read loosely; the asserts check them.
    const json = (await res.json().catch(() => ({}))) as Record<string, any>;
    return { status: res.status, json };
  };

  before(async () => {
    database = await openDatabase({ dataDir: 'memory://' });
    await migrate(database);
    // WATTFLEET_ADMIN_TOKEN is how an operator script authenticates; the hub reads it from env.
    const config = loadConfig(
      { WATTFLEET_ADMIN_TOKEN: ADMIN_TOKEN },
      { logLevel: 'warn', host: '127.0.0.1', mqttPort: 0 },
    );
    app = await buildHub({ config, database, logger: false });
    await app.ready();
    hubUrl = await app.listen({ port: 0, host: '127.0.0.1' });
    const org = await admin('POST', '/api/v1/orgs', { name: 'Edge e2e', kind: 'household' });
    assert.equal(org.status, 201, JSON.stringify(org.json));
    const site = await admin('POST', '/api/v1/sites', {
      orgId: org.json.id,
      name: 'Roof',
      timezone: 'Europe/Berlin',
      latitude: 52.5,
      longitude: 13.4,
    });
    assert.equal(site.status, 201, JSON.stringify(site.json));
    siteId = site.json.id;
  });

  after(async () => {
    await agent?.stop();
    await app?.close();
    await database?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('enrolls with a one-time code and refuses to reuse it', async () => {
    const code = await admin('POST', `/api/v1/sites/${siteId}/enrollment-codes`, {});
    assert.equal(code.status, 201, JSON.stringify(code.json));
    const identityPath = join(dir, 'identity.json');
    const id = await enroll({ hubUrl, code: code.json.code, identityPath, name: 'e2e agent' });
    assert.equal(id.siteId, siteId);
    assert.equal(statSync(identityPath).mode & 0o777, 0o600);
    await assert.rejects(
      enroll({ hubUrl, code: code.json.code, identityPath: join(dir, 'other.json') }),
      /WF_ENROLLMENT_INVALID/,
    );
  });

  it('uploads a signed gzip batch (stored), and a resend of the same batch is a duplicate', async () => {
    const identity = JSON.parse((await import('node:fs')).readFileSync(join(dir, 'identity.json'), 'utf8'));
    const outbox = Outbox.open(join(dir, 'direct.db'), { maxBytes: 1 << 30 });
    const now = Date.now();
    outbox.append(
      Array.from({ length: 20 }, (_, i) => ({
        metric: 'solar_w',
        ts: now - 20_000 + i * 1000,
        value: 100 + i,
      })),
    );
    const batch = outbox.formBatch({ maxSamples: 500, maxAgeMs: 0 })!;
    const transport = new HttpTransport({ hubUrl, nodeId: identity.nodeId, key: signingKey(identity) });
    assert.deepEqual(await transport.send(batch), { kind: 'acked', status: 'stored' });
    assert.deepEqual(await transport.send(batch), { kind: 'acked', status: 'duplicate' });
    outbox.append([{ metric: 'not a metric', ts: now, value: 1 }]);
    const poison = outbox.formBatch({ maxSamples: 500, maxAgeMs: 0 })!;
    const refused = await transport.send(poison);
    assert.equal(refused.kind, 'poison', JSON.stringify(refused));
    outbox.close();
    const rows = await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM samples s JOIN series r ON r.id = s.series_id
      WHERE r.node_id = ${identity.nodeId}`.execute(database.db);
    assert.equal(rows.rows[0]!.n, 20, 'exactly once in the database');
  });

  const countSamples = async (nodeId: string) =>
    (
      await sql<{ n: number }>`SELECT count(*)::int AS n FROM samples s JOIN series r ON r.id = s.series_id
        WHERE r.node_id = ${nodeId}`.execute(database.db)
    ).rows[0]!.n;

  it('gets 429 with Retry-After from the per-node rate limit of the hub and treats it as busy, not down', async () => {
    const identity = JSON.parse((await import('node:fs')).readFileSync(join(dir, 'identity.json'), 'utf8'));
    const config = loadConfig(
      { WATTFLEET_ADMIN_TOKEN: ADMIN_TOKEN, INGEST_NODE_RATE_PER_MINUTE: '2' },
      { logLevel: 'warn', host: '127.0.0.1' },
    );
    const limited = await buildHub({ config, database, logger: false });
    const url = await limited.listen({ port: 0, host: '127.0.0.1' });
    try {
      const outbox = Outbox.open(join(dir, 'limited.db'), { maxBytes: 1 << 30 });
      const transport = new HttpTransport({
        hubUrl: url,
        nodeId: identity.nodeId,
        key: signingKey(identity),
      });
      const results = [];
      for (let i = 0; i < 3; i++) {
        outbox.append([{ metric: 'load_w', ts: Date.now() - 60_000 + i, value: i }]);
        results.push(await transport.send(outbox.formBatch({ maxSamples: 500, maxAgeMs: 0 })!));
      }
      assert.deepEqual(
        results.slice(0, 2).map((r) => r.kind),
        ['acked', 'acked'],
      );
      const third = results[2]!;
      assert.equal(third.kind, 'retry');
      assert.ok(
        third.kind === 'retry' && third.busy && (third.retryAfterMs ?? 0) > 1000,
        JSON.stringify(third),
      );
      outbox.close();
    } finally {
      await limited.close();
    }
  });

  it('survives a hub outage: backlog kept, then drained exactly once when the hub is back', async () => {
    const identity = JSON.parse((await import('node:fs')).readFileSync(join(dir, 'identity.json'), 'utf8'));
    const before = await countSamples(identity.nodeId);
    const port = Number(new URL(hubUrl).port);
    const outbox = Outbox.open(join(dir, 'outage.db'), { maxBytes: 1 << 30 });
    const uplink = new Uplink(
      outbox,
      new HttpTransport({ hubUrl, nodeId: identity.nodeId, key: signingKey(identity) }),
      {
        batchMaxSamples: 500,
        batchMaxAgeMs: 50,
        backoff: { baseMs: 100, maxMs: 400 },
        logger,
      },
    );
    await app.close(); // the hub goes away (its database stays)
    uplink.start();
    const t0 = Date.now() - 3_600_000;
    for (let i = 0; i < 1200; i += 100) {
      outbox.append(
        Array.from({ length: 100 }, (_, k) => ({ metric: 'grid_w', ts: t0 + (i + k) * 1000, value: i + k })),
      );
      await sleep(20);
    }
    await until(() => uplink.status.consecutiveFailures >= 2);
    assert.equal(outbox.stats().depth, 1200, 'nothing lost while the hub is down');
    const config = loadConfig(
      { WATTFLEET_ADMIN_TOKEN: ADMIN_TOKEN },
      { logLevel: 'warn', host: '127.0.0.1', mqttPort: 0 },
    );
    app = await buildHub({ config, database, logger: false });
    await app.listen({ port, host: '127.0.0.1' });
    await until(() => outbox.stats().depth === 0);
    await uplink.stop();
    outbox.close();
    assert.equal((await countSamples(identity.nodeId)) - before, 1200, 'every sample stored exactly once');
  });

  it('runs as a whole: telemetry, heartbeat, and FETCH_LOGS answered through the hub', async () => {
    const cp = await startControlPlane(app);
    brokerUrl = cp.brokerUrl!;
    const configPath = join(dir, 'agent.yaml');
    writeFileSync(
      configPath,
      `version: 2
hub: { url: "${hubUrl}", mqttUrl: "${brokerUrl}" }
identity: { path: ${join(dir, 'identity.json')} }
site: { lat: 52.5, lon: 13.4, timezone: Europe/Berlin }
sources:
  - { type: simulator, key: sim, seed: e2e }
poll: { intervalS: 0.5 }
outbox: { path: ${join(dir, 'agent.db')} }
dashboard: { port: 0, host: 127.0.0.1 }
logging: { level: info, file: ${join(dir, 'agent.log')} }
`,
    );
    agent = await Agent.start({ configPath, supervisor: new StandInSupervisor(), logger, heartbeatMs: 500 });
    const nodeId = agent.identity!.nodeId;
    assert.equal(agent.mode, 'running');
    await until(() => agent!.outbox!.stats().acked > 0 && agent!.control?.connected);
    writeFileSync(join(dir, 'agent.log'), 'first line\nsecond line\nthird line\n');
    const created = await admin('POST', `/api/v1/nodes/${nodeId}/commands`, {
      type: 'FETCH_LOGS',
      args: { lines: 2 },
    });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const cid = created.json.id as string;
    const done = await until(async () => {
      const c = await admin('GET', `/api/v1/nodes/${nodeId}/commands/${cid}`);
      return ['succeeded', 'failed'].includes(c.json.state) ? c.json : undefined;
    });
    assert.equal(done.state, 'succeeded', JSON.stringify(done));
    const logs = await admin('GET', `/api/v1/nodes/${nodeId}/logs?commandId=${cid}`);
    assert.deepEqual(logs.json.lines, ['second line', 'third line']);
    assert.equal(logs.json.complete, true);
    const node = await admin('GET', `/api/v1/nodes/${nodeId}`);
    if (node.status === 200) assert.notEqual(node.json.status ?? node.json.state, 'offline');
  });
});
