// Edge execution end to end (issue 13.7): the real agent (in process, as hub-e2e.test.ts runs it)
// against the real hub (PGlite, embedded broker). A schedule on the agent's simulator relay is
// saved through the API; the hub makes the agent its executor and pushes the bundle; the hub is
// stopped; the schedule fires on the agent's own clock in the site's zone and the relay switches
// (read back from the agent's source); the hub comes back on the same ports and database, the
// execution reaches its run log, channel and audit exactly once, and the hub never ran it itself.
// The schedule is built relative to now in the site's zone (a one-off date at the next whole
// minute far enough ahead), so the test does not depend on the time of day.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { hhmm, wallToUtc } from '@wattfleet/devices/automation';
import { EVENT_KINDS } from '@wattfleet/protocol';
import { localDate } from '@wattfleet/protocol/zoned';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import pino from 'pino';
import { buildHub } from '../../hub/src/app.ts';
import { runnableSchedules } from '../../hub/src/automation/schedules/schedules.repository.ts';
import { loadConfig } from '../../hub/src/config.ts';
import { ingestEvents } from '../../hub/src/ingest/reports.service.ts';
import { startControlPlane } from '../../hub/src/mqtt/control-plane.ts';
import { type Database, openDatabase } from '../../hub/src/storage/database.ts';
import { migrate } from '../../hub/src/storage/migrate.ts';
import { enroll } from '../src/identity/enroll.ts';
import { StandInSupervisor } from '../src/ops/supervisor.ts';
import { Agent } from '../src/runtime/agent.ts';
import { hasRelay } from '../src/sources/types.ts';

const ADMIN_TOKEN = 'edge-automation-admin-token-0123';
const TZ = 'Europe/Berlin';
const dir = mkdtempSync(join(tmpdir(), 'wf-edge-auto-'));
const logger = pino({ level: 'silent' });

async function until<T>(
  what: string,
  get: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(200);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** The next whole minute at least `aheadMs` away whose wall time names it alone (not a DST repeat). */
function nextMinute(aheadMs: number): { at: number; day: string; time: string } {
  let at = Math.ceil((Date.now() + aheadMs) / 60_000) * 60_000;
  for (;;) {
    const day = localDate(at, TZ);
    const time = hhmm(at, TZ);
    const [h, m] = time.split(':').map(Number) as [number, number];
    if (wallToUtc(day, h * 60 + m, TZ) === at) return { at, day, time };
    at += 60_000;
  }
}

describe('edge execution with the hub stopped', () => {
  let database: Database;
  let app: FastifyInstance | undefined;
  let agent: Agent | undefined;
  let httpPort: number;
  let mqttPort: number;
  let hubUrl: string;
  const db = () => database.db;

  const startHub = async () => {
    const config = loadConfig(
      { WATTFLEET_ADMIN_TOKEN: ADMIN_TOKEN },
      { logLevel: 'warn', host: '127.0.0.1', mqttPort, mqttHost: '127.0.0.1' },
    );
    app = await buildHub({ config, database, logger: false });
    await app.ready();
    hubUrl = await app.listen({ port: httpPort, host: '127.0.0.1' });
    return (await startControlPlane(app)).brokerUrl!;
  };
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await app!.inject({
      method: method as 'GET',
      url: path,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      ...(body !== undefined ? { payload: body as object } : {}),
    });
    // biome-ignore lint/suspicious/noExplicitAny: hub answers are read loosely; the asserts check them.
    return { status: res.statusCode, json: res.json() as Record<string, any>, body: res.body };
  };

  before(async () => {
    database = await openDatabase({ dataDir: 'memory://' });
    await migrate(database);
    httpPort = await freePort();
    mqttPort = await freePort();
  });

  after(async () => {
    await agent?.stop();
    await app?.close();
    await database?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the schedule on the agent while the hub is down, and the hub records it once', async () => {
    const brokerUrl = await startHub();
    const org = await admin('POST', '/api/v1/orgs', { name: 'Edge automation', kind: 'household' });
    assert.equal(org.status, 201, org.body);
    const site = await admin('POST', '/api/v1/sites', {
      orgId: org.json.id,
      name: 'Cellar',
      timezone: TZ,
      latitude: 52.5,
      longitude: 13.4,
    });
    assert.equal(site.status, 201, site.body);
    const siteId = site.json.id as string;
    const code = await admin('POST', `/api/v1/sites/${siteId}/enrollment-codes`, {});
    const identityPath = join(dir, 'identity.json');
    await enroll({ hubUrl, code: code.json.code, identityPath, name: 'edge automation agent' });
    const configPath = join(dir, 'agent.yaml');
    writeFileSync(
      configPath,
      `version: 2
hub: { url: "${hubUrl}", mqttUrl: "${brokerUrl}" }
identity: { path: ${identityPath} }
site: { lat: 52.5, lon: 13.4, timezone: ${TZ} }
sources:
  - { type: simulator, key: heater, seed: edge-automation, relay: { loadW: 2000 } }
poll: { intervalS: 0.5 }
outbox: { path: ${join(dir, 'state.db')} }
dashboard: { port: 0, host: 127.0.0.1 }
logging: { level: info, file: ${join(dir, 'agent.log')} }
`,
    );
    agent = await Agent.start({
      configPath,
      supervisor: new StandInSupervisor(),
      logger,
      heartbeatMs: 500,
      automationTickMs: 500,
    });
    const nodeId = agent.identity!.nodeId;
    const heater = agent.sources.get('heater')!;
    assert.ok(hasRelay(heater));
    const channel = await until('the agent registered its relay', async () => {
      const res = await admin('GET', `/api/v1/sites/${siteId}/channels`);
      return (res.json.items as { id: string; equipment: string }[]).find((c) => c.equipment === 'heater');
    });
    await until(
      'node online',
      async () => (await admin('GET', `/api/v1/nodes/${nodeId}`)).json.status === 'online',
    );
    assert.equal(await heater.getRelay(), 'off');

    // Far enough ahead to push the bundle and stop the hub before it is due.
    const due = nextMinute(20_000);
    const created = await admin('POST', `/api/v1/sites/${siteId}/schedules`, {
      channelId: channel.id,
      name: 'Edge heater',
      priority: 100,
      rule: { days: { kind: 'dates', dates: [due.day] }, start: { at: due.time }, action: 'on' },
    });
    assert.equal(created.status, 201, created.body);
    const scheduleId = created.json.id as string;
    assert.equal(created.json.next[0]?.dueAt, new Date(due.at).toISOString(), 'due at the minute chosen');

    // The hub made the agent the executor and the agent took the bundle.
    const executor = await sql<{ node_id: string }>`
      SELECT node_id FROM automation_executors WHERE item_kind = 'schedule' AND item_id = ${scheduleId}`.execute(
      db(),
    );
    assert.equal(executor.rows[0]?.node_id, nodeId);
    await until('bundle applied', async () => {
      const r = await sql<{ state: string; version: number }>`
        SELECT state, version FROM automation_bundles WHERE node_id = ${nodeId} ORDER BY version DESC LIMIT 1`.execute(
        db(),
      );
      return r.rows[0]?.state === 'applied' && r.rows[0];
    });
    assert.equal(agent.automation?.bundle?.schedules[0]?.id, scheduleId);
    assert.ok(
      !(await runnableSchedules(db())).some((s) => s.id === scheduleId),
      "the hub's runner does not see a schedule the node executes",
    );
    assert.ok(Date.now() < due.at - 3000, 'set up before it is due (else the test proves nothing)');

    // The hub goes away (broker included); the agent is on its own.
    await app!.close();
    app = undefined;
    await until('the agent noticed', () => !agent!.control?.connected, 10_000);
    const switched = await until(
      'the relay switched on the agent',
      async () => (await heater.getRelay()) === 'on',
      due.at - Date.now() + 20_000,
    );
    assert.ok(switched);
    assert.ok(Date.now() >= due.at, 'not before it was due');
    assert.ok(
      agent.reports!.queues.events.pending() + agent.reports!.queues.events.batchCount() > 0,
      'the execution waits in the outbox',
    );

    // The hub returns on the same ports and database; the execution arrives.
    await startHub();
    const runs = await until(
      'the execution in the run log',
      async () => {
        const r = await admin('GET', `/api/v1/schedules/${scheduleId}/runs`);
        return r.json.items?.length > 0 && r.json.items;
      },
      60_000,
    );
    assert.equal(runs.length, 1, JSON.stringify(runs));
    assert.equal(runs[0].outcome, 'done');
    assert.equal(runs[0].executedBy, nodeId);
    assert.equal(runs[0].state, 'on');
    assert.equal(runs[0].dueAt, new Date(due.at).toISOString());
    assert.match(
      runs[0].reason,
      new RegExp(`scheduled ${due.time}.*run by the node.*node ${nodeId}, bundle v1`),
    );
    const ch = await admin('GET', `/api/v1/channels/${channel.id}`);
    assert.equal(ch.json.desiredBy, 'schedule:Edge heater');
    assert.equal(ch.json.reportedState, 'on');
    assert.equal(ch.json.status, 'confirmed');
    const audits = await sql<{ actor_type: string; actor_id: string; details: unknown }>`
      SELECT actor_type, actor_id, details FROM audit_log WHERE action = 'equipment.switch' AND target_id = ${channel.id}`.execute(
      db(),
    );
    assert.equal(audits.rows.length, 1);
    const details = (
      typeof audits.rows[0]!.details === 'string'
        ? JSON.parse(audits.rows[0]!.details)
        : audits.rows[0]!.details
    ) as {
      automation: { kind: string; id: string; version: number };
      executor: string;
    };
    assert.equal(audits.rows[0]!.actor_type, 'node');
    assert.equal(details.automation.kind, 'schedule');
    assert.equal(details.automation.id, scheduleId);
    assert.equal(details.executor, nodeId);

    // Exactly once: the same execution reported again (a resent batch under a new id) adds nothing,
    // and the hub never sent a switch of its own.
    const event = await sql<{ ts: Date; message: string; data: unknown }>`
      SELECT ts, message, data FROM node_events WHERE node_id = ${nodeId} AND kind = ${EVENT_KINDS.automationExecution}`.execute(
      db(),
    );
    assert.equal(event.rows.length, 1);
    const e = event.rows[0]!;
    const data = (typeof e.data === 'string' ? JSON.parse(e.data) : e.data) as Record<string, unknown>;
    await ingestEvents(
      app!.hub,
      { nodeId, siteId },
      {
        batchId: `resend-${Date.now()}`,
        events: [
          {
            ts: new Date(e.ts).getTime(),
            kind: EVENT_KINDS.automationExecution,
            severity: 'info',
            message: e.message,
            data,
          },
        ],
      },
    );
    await sleep(1000);
    const again = await admin('GET', `/api/v1/schedules/${scheduleId}/runs`);
    assert.equal(again.json.items.length, 1, 'recorded once');
    const relaySets = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM commands WHERE node_id = ${nodeId} AND type = 'RELAY_SET'`.execute(db());
    assert.equal(relaySets.rows[0]!.n, 0, 'the hub did not switch it too');
  });
});
