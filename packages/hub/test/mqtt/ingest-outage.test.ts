// Issue 11.4 (a): every hub is stopped for 60 s while real agents (the bundle, as systemd starts
// it) keep publishing telemetry over MQTT QoS 1 to a real Mosquitto. The broker acknowledges each
// batch to its agent, which forgets it; no hub is connected. Two hub processes (PostgreSQL, one
// shared subscription group) each hold persistent ingest sessions that Mosquitto keeps queueing
// for, so when the hubs come back under the same HUB_IDs they get everything that was published
// meanwhile. In the end the hub holds exactly the readings the agents produced (their own record
// of them, the local history), row for row: nothing lost in the outage, nothing twice.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { buildBundle, bundleCli, killAgent, startAgent } from '../../../edge/test/helpers/agent-process.ts';
import { MOSQUITTO_SESSION_SETTINGS } from '../../src/mqtt/mosquitto-files.ts';
import { createPgDatabase, ENGINES } from '../helpers/engines.ts';
import type { HubProcess } from '../helpers/hub-process.ts';
import { adminApi, ingestHub, startIngestBroker } from './ingest-broker.ts';
import type { TestMosquitto } from './mosquitto.ts';
import { sleep, waitFor } from './mqtt-helpers.ts';

const OUTAGE_MS = 60_000;
const AGENTS = 2;
const DEPLOYED_CONF = new URL('../../../../deploy/mosquitto/mosquitto.conf', import.meta.url);

interface Row {
  metric: string;
  equipment: string;
  ts: number;
  value: number;
}
// One order for both sides in JS: SQLite and PostgreSQL collations sort text differently.
const byKey = (a: Row, b: Row) =>
  a.metric < b.metric
    ? -1
    : a.metric > b.metric
      ? 1
      : a.equipment < b.equipment
        ? -1
        : a.equipment > b.equipment
          ? 1
          : a.ts - b.ts;

function agentConfig(dir: string, hub: string, sources: string): string {
  return `version: 2
hub: ${hub}
identity: { path: ${join(dir, 'identity.json')} }
site: { lat: 52.5, lon: 13.4, timezone: Europe/Berlin }
sources: ${sources}
poll: { intervalS: 0.25 }
outbox: { path: ${join(dir, 'outbox.db')} }
uplink: { batchMaxSamples: 25, batchMaxAgeMs: 500 }
dashboard: { port: 0, host: 127.0.0.1 }
logging: { level: warn }
`;
}

interface Agent {
  dir: string;
  config: string;
  log: string;
  nodeId: string;
  child?: ChildProcess;
  state?: Database.Database;
}

const engines = ENGINES.includes('postgres') ? ['postgres'] : [];
for (const _engine of engines)
  describe('every hub away for 60 s while agents publish over MQTT (Mosquitto, PostgreSQL)', () => {
    let db: { url: string; drop: () => Promise<void> };
    let broker: TestMosquitto;
    let sql: pg.Client;
    const hubs: HubProcess[] = [];
    const agents: Agent[] = [];
    before(async () => {
      await buildBundle();
      db = await createPgDatabase();
      broker = await startIngestBroker();
      for (const id of ['outage-a', 'outage-b']) hubs.push(await ingestHub(broker, db.url, id));
      sql = new pg.Client({ connectionString: db.url });
    });
    after(async () => {
      for (const a of agents) {
        if (a.child) await killAgent(a.child);
        a.state?.close();
        rmSync(a.dir, { recursive: true, force: true });
      }
      await sql?.end().catch(() => {});
      for (const h of hubs) await h.kill();
      await broker?.stop();
      await db?.drop();
    });

    it('the test broker runs with the deployed session and queue settings', () => {
      const deployed = readFileSync(DEPLOYED_CONF, 'utf8').split('\n');
      for (const line of MOSQUITTO_SESSION_SETTINGS) assert.ok(deployed.includes(line), line);
      assert.ok(deployed.includes('persistence true'));
    });

    it('stores every reading published during the outage exactly once', { timeout: 600_000 }, async (t) => {
      for (const h of hubs) await h.start();
      await sql.connect();
      const [first] = hubs as [HubProcess];
      const admin = adminApi(() => first.url);
      const org = await admin('/orgs', { name: 'Outage', kind: 'household' });
      const site = await admin('/sites', { orgId: org.id, name: 'Roof', timezone: 'UTC' });
      const hubLine = `{ url: "${first.url}", transport: mqtt, mqttUrl: "${broker.url}" }`;
      for (let i = 0; i < AGENTS; i++) {
        const dir = mkdtempSync(join(tmpdir(), `wf-outage-${i}-`));
        const config = join(dir, 'agent.yaml');
        writeFileSync(
          config,
          agentConfig(dir, hubLine, `[{ type: simulator, key: roof, seed: outage-${i} }]`),
        );
        const { code } = await admin(`/sites/${site.id}/enrollment-codes`, {});
        await bundleCli(config, ['enroll', '--hub', first.url, '--code', code!]);
        const nodeId = JSON.parse(readFileSync(join(dir, 'identity.json'), 'utf8')).nodeId as string;
        agents.push({ dir, config, log: join(dir, 'agent.out'), nodeId });
      }
      const tail = (a: Agent) => {
        try {
          return readFileSync(a.log, 'utf8').split('\n').slice(-15).join('\n');
        } catch {
          return '';
        }
      };
      const counters = (a: Agent) => {
        if (!a.state) {
          try {
            a.state = new Database(join(a.dir, 'outbox.db'), { fileMustExist: true });
            a.state.pragma('busy_timeout = 5000');
          } catch {
            return undefined;
          }
        }
        try {
          return Object.fromEntries(
            (
              a.state.prepare('SELECT name, value FROM counters').all() as { name: string; value: number }[]
            ).map((r) => [r.name, r.value]),
          ) as Record<'appended' | 'acked' | 'dropped' | 'poisoned', number>;
        } catch {
          return undefined;
        }
      };
      const stored = async () =>
        (await sql.query('SELECT count(*)::int AS n FROM samples')).rows[0].n as number;

      // The hubs add the nodes to Mosquitto's files within MOSQUITTO_SYNC_MS; the agents dial in.
      for (const a of agents) a.child = startAgent(a.config, a.log);
      await waitFor(
        async () => (await stored()) > 0,
        90_000,
        `samples through the hubs\n${tail(agents[0]!)}`,
      );

      // Every hub away (a rolling restart gone wrong, a host down): the agents go on publishing.
      for (const h of hubs) await h.stop();
      const ackedAtStop = agents.map((a) => counters(a)?.acked ?? 0);
      const storedAtStop = await stored();
      await sleep(OUTAGE_MS);
      // The outbox counters count readings (samples), not batches.
      const ackedDuring = agents.map((a, i) => (counters(a)?.acked ?? 0) - ackedAtStop[i]!);
      for (const [i, n] of ackedDuring.entries())
        assert.ok(
          n > 10,
          `agent ${i}: the broker took readings while no hub ran (${n})\n${tail(agents[i]!)}`,
        );
      assert.equal(await stored(), storedAtStop, 'nothing stored while every hub was away');
      for (const h of hubs) await h.start();

      // Then the agents stop producing (restarted without sources) and drain their outboxes.
      for (const a of agents) {
        await killAgent(a.child!, 'SIGTERM');
        writeFileSync(a.config, agentConfig(a.dir, hubLine, '[]'));
        a.child = startAgent(a.config, a.log);
      }
      const finals: Record<'appended' | 'acked' | 'dropped' | 'poisoned', number>[] = [];
      for (const a of agents) {
        const c = await waitFor(
          () => {
            const c = counters(a);
            const batches = (a.state?.prepare('SELECT count(*) AS n FROM batches').get() as { n: number })?.n;
            return (
              c && c.appended > 0 && c.appended === c.acked + c.dropped + c.poisoned && batches === 0 && c
            );
          },
          120_000,
          `agent ${a.nodeId} drained\n${tail(a)}`,
        );
        finals.push(c as Record<'appended' | 'acked' | 'dropped' | 'poisoned', number>);
        await killAgent(a.child!, 'SIGTERM');
      }

      const produced = agents.map((a) =>
        (a.state!.prepare('SELECT metric, equipment, ts, value FROM history').all() as Row[]).sort(byKey),
      );
      const total = produced.reduce((n, p) => n + p.length, 0);
      // The queued share of both hubs' sessions is handed over; wait for the whole of it.
      await waitFor(async () => (await stored()) >= total, 120_000, `${total} samples stored`);
      await sleep(1000);
      for (const [i, a] of agents.entries()) {
        assert.equal(finals[i]!.dropped, 0);
        assert.equal(finals[i]!.poisoned, 0);
        const rows = await sql.query<{ metric: string; equipment: string; ts: string; value: number }>(
          `SELECT r.metric, r.equipment, (extract(epoch FROM s.ts) * 1000)::bigint::text AS ts, s.value
           FROM samples s JOIN series r ON r.id = s.series_id WHERE r.node_id = $1`,
          [a.nodeId],
        );
        const hubRows = rows.rows.map((r) => ({ ...r, ts: Number(r.ts) })).sort(byKey);
        assert.equal(hubRows.length, produced[i]!.length, `agent ${i}: stored = produced`);
        assert.deepEqual(hubRows, produced[i], `agent ${i}: row for row`);
      }
      assert.equal(await stored(), total);
      t.diagnostic(
        `${total} readings stored exactly once; readings acked by the broker while no hub ran, per agent: ${ackedDuring.join(', ')}`,
      );
    });
  });
