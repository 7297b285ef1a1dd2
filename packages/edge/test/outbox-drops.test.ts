// A full outbox, end to end: the agent's state file is at its bound (outbox.maxBytes, counted in
// pages SQLite really uses), so the oldest readings were dropped; the agent reports the count in
// its heartbeat, and the real hub (PostgreSQL, its embedded MQTT broker) records it on the node,
// opens an outbox_drops alert, and resolves it after a quiet period although the node's
// cumulative count never goes down.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import pino from 'pino';
import { startControlPlane } from '../../hub/src/mqtt/control-plane.ts';
import { createSite, startTestHub, type TestHub } from '../../hub/test/helpers/hub.ts';
import { enroll } from '../src/identity/enroll.ts';
import { StandInSupervisor } from '../src/ops/supervisor.ts';
import { Outbox } from '../src/outbox/outbox.ts';
import { Agent } from '../src/runtime/agent.ts';

const MAX_BYTES = 1024 * 1024; // the smallest bound the config accepts
const dir = mkdtempSync(join(tmpdir(), 'wf-drops-'));

describe('outbox drops reported to the real hub', () => {
  let hub: TestHub;
  let agent: Agent | undefined;
  before(async () => {
    hub = await startTestHub('postgres', { mqttPort: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await agent?.stop();
    await hub?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts what a full outbox dropped and sends the count in its heartbeat', async () => {
    const hubUrl = await hub.app.listen({ port: 0, host: '127.0.0.1' });
    const cp = await startControlPlane(hub.app);
    const site = await createSite(hub);
    const code = await hub.admin('POST', `/api/v1/sites/${site.siteId}/enrollment-codes`, {});
    const identityPath = join(dir, 'identity.json');
    const id = await enroll({ hubUrl, code: code.json().code, identityPath });

    // A day's outage worth of readings, in a state file bounded at 1 MiB: the oldest must go.
    const outboxPath = join(dir, 'outbox.db');
    const prefill = Outbox.open(outboxPath, { maxBytes: MAX_BYTES });
    const start = Date.now() - 3_600_000;
    for (let i = 0; i < 30_000; i += 1000) {
      prefill.append(
        Array.from({ length: 1000 }, (_, k) => ({
          metric: 'solar_w',
          ts: start + (i + k) * 100,
          value: i + k,
        })),
      );
    }
    const dropped = prefill.stats().dropped;
    assert.ok(dropped > 0, 'the bound was reached');
    assert.ok(prefill.usedBytes() <= MAX_BYTES);
    prefill.close();

    // Short window and quiet period for this site, so the test sees the alert resolve in seconds.
    const rule = await hub.admin('PUT', `/api/v1/sites/${site.siteId}/alert-rules/outbox_drops`, {
      params: { windowS: 5, quietS: 5 },
    });
    assert.equal(rule.statusCode, 200, rule.body);

    const configPath = join(dir, 'agent.yaml');
    writeFileSync(
      configPath,
      `version: 2
hub: { url: "${hubUrl}", mqttUrl: "${cp.brokerUrl}" }
identity: { path: ${identityPath} }
site: { lat: 52.5, lon: 13.4, timezone: Europe/Berlin }
sources:
  - { type: simulator, key: sim, seed: drops }
poll: { intervalS: 1 }
outbox: { path: ${outboxPath}, maxBytes: ${MAX_BYTES} }
dashboard: { port: 0, host: 127.0.0.1 }
`,
    );
    agent = await Agent.start({
      configPath,
      supervisor: new StandInSupervisor(),
      logger: pino({ level: 'silent' }),
      heartbeatMs: 300,
    });
    const atStart = (agent.status().outbox as { dropped: number }).dropped;
    assert.ok(atStart >= dropped, 'the count survives the restart');

    const end = Date.now() + 30_000;
    let reported: number | undefined;
    while (Date.now() < end) {
      const r = await sql<{ dropped: number | null }>`
        SELECT (last_status->>'outboxDropped')::int AS dropped FROM nodes WHERE id = ${id.nodeId}`.execute(
        hub.tdb.database.db,
      );
      reported = r.rows[0]?.dropped ?? undefined;
      if (reported !== undefined && reported >= dropped) break;
      await sleep(200);
    }
    // The heartbeat carries the count at the time it was sent; the agent may have dropped more since.
    assert.ok(reported !== undefined && reported >= dropped, `hub has ${reported}, agent dropped ${dropped}`);
    assert.ok(reported <= agent.outbox!.stats().dropped);

    const alerts = async () =>
      (await hub.admin('GET', `/api/v1/alerts?siteId=${site.siteId}&rule=outbox_drops`)).json() as {
        id: string;
        node_id: string;
        state: string;
      }[];
    const until = async (what: string, ok: (a: Awaited<ReturnType<typeof alerts>>) => boolean) => {
      const limit = Date.now() + 60_000;
      for (;;) {
        const list = await alerts();
        if (ok(list)) return list;
        if (Date.now() > limit) assert.fail(`${what}: ${JSON.stringify(list)}`);
        await sleep(250);
      }
    };
    const [opened] = await until('an outbox_drops alert', (l) => l.length > 0);
    assert.equal(opened!.node_id, id.nodeId);
    // The agent keeps reporting its (cumulative, non-zero) count, yet the alert resolves once no
    // new drop came for the quiet period.
    await until('resolved after the quiet period', (l) => l.length === 1 && l[0]!.state === 'resolved');
    assert.ok(agent.outbox!.stats().dropped >= dropped, 'the node still reports its old drops');
    const last = await sql<{ dropped: number }>`
      SELECT (last_status->>'outboxDropped')::int AS dropped FROM nodes WHERE id = ${id.nodeId}`.execute(
      hub.tdb.database.db,
    );
    assert.ok(last.rows[0]!.dropped >= dropped);
    const detail = (await hub.admin('GET', `/api/v1/alerts/${opened!.id}`)).json() as {
      transitions: { from_state: string | null; to_state: string; actor: string }[];
    };
    assert.deepEqual(
      detail.transitions.map((t) => `${t.from_state}>${t.to_state}:${t.actor}`),
      ['null>open:system', 'open>resolved:system'],
    );
  });
});
