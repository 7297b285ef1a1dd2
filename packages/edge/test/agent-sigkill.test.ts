// The agent process (the bundle, started as systemd starts it) is SIGKILLed at random moments
// while it uploads to the real hub on PostgreSQL, 12 times, and restarted each time — once over
// signed HTTP, once over MQTT QoS 1 through a real Mosquitto (the hub in external-broker mode,
// keeping Mosquitto's password/ACL files, acknowledging a batch only once it is stored). In the end
// the hub holds exactly the readings the agent produced: the agent's own record of them (the
// local history, written in the same SQLite transaction as the outbox append) is compared with
// the hub's samples for the node, row for row. Nothing dropped, nothing twice, nothing invented.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { startControlPlane } from '../../hub/src/mqtt/control-plane.ts';
import { createSite, startTestHub, type TestHub } from '../../hub/test/helpers/hub.ts';
import {
  HUB_USER,
  mosquittoFiles,
  startMosquitto,
  type TestMosquitto,
} from '../../hub/test/mqtt/mosquitto.ts';
import { buildBundle, bundleCli, killAgent, startAgent } from './helpers/agent-process.ts';

const KILLS = 12;

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

/** Small deterministic PRNG (mulberry32): a failing run can be replayed with its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function until<T>(what: string, get: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = get();
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms\n${tailOfLog()}`);
    await sleep(25);
  }
}

let logPath = '';

function tailOfLog(): string {
  try {
    return readFileSync(logPath, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '';
  }
}

function config(dir: string, hub: string, sources: string): string {
  return `version: 2
hub: ${hub}
identity: { path: ${join(dir, 'identity.json')} }
site: { lat: 52.5, lon: 13.4, timezone: Europe/Berlin }
sources: ${sources}
poll: { intervalS: 0.1 }
outbox: { path: ${join(dir, 'outbox.db')} }
uplink: { batchMaxSamples: 25, batchMaxAgeMs: 50 }
dashboard: { port: 0, host: 127.0.0.1 }
logging: { level: warn }
`;
}

for (const transport of ['http', 'mqtt'] as const)
  describe(`agent SIGKILLed while uploading to the real hub (PostgreSQL) over ${transport}`, () => {
    const dir = mkdtempSync(join(tmpdir(), `wf-sigkill-${transport}-`));
    const dbPath = join(dir, 'outbox.db');
    let hub: TestHub;
    let hubUrl: string;
    let hubLine: string;
    let broker: TestMosquitto | undefined;
    let agent: ChildProcess | undefined;
    let state: Database.Database | undefined;
    const counters = () =>
      Object.fromEntries(
        (state!.prepare('SELECT name, value FROM counters').all() as { name: string; value: number }[]).map(
          (r) => [r.name, r.value],
        ),
      ) as Record<'appended' | 'acked' | 'dropped' | 'poisoned', number>;

    before(async () => {
      logPath = join(dir, 'agent.out');
      await buildBundle();
      if (transport === 'http') {
        hub = await startTestHub('postgres');
        hubUrl = await hub.app.listen({ port: 0, host: '127.0.0.1' });
        hubLine = `{ url: "${hubUrl}", transport: http }`;
        return;
      }
      const { dir: brokerDir, files } = mosquittoFiles();
      hub = await startTestHub('postgres', {
        mqttUrl: 'mqtt://127.0.0.1:1', // replaced below, once Mosquitto runs with the hub's files
        controlPlane: { username: HUB_USER.username, password: HUB_USER.password, mosquitto: files },
      });
      await hub.app.controlPlane.syncMosquitto();
      broker = await startMosquitto(brokerDir, files);
      hub.app.hub.config.mqttUrl = broker.url;
      await startControlPlane(hub.app);
      hubUrl = await hub.app.listen({ port: 0, host: '127.0.0.1' });
      hubLine = `{ url: "${hubUrl}", transport: mqtt, mqttUrl: "${broker.url}" }`;
    });
    after(async () => {
      if (agent) await killAgent(agent);
      state?.close();
      await hub?.close();
      await broker?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it(`loses and duplicates nothing across ${KILLS} kills at random moments`, async (t) => {
      const seed = Number(process.env.WF_SIGKILL_SEED ?? Date.now() % 1_000_000);
      const random = prng(seed);
      const site = await createSite(hub);
      const code = await hub.admin('POST', `/api/v1/sites/${site.siteId}/enrollment-codes`, {});
      assert.equal(code.statusCode, 201, code.body);
      const configPath = join(dir, 'agent.yaml');
      writeFileSync(
        configPath,
        config(
          dir,
          hubLine,
          '[{ type: simulator, key: roof, seed: sigkill-a }, { type: simulator, key: garage, seed: sigkill-b }]',
        ),
      );
      await bundleCli(configPath, ['enroll', '--hub', hubUrl, '--code', code.json().code]);
      // The new node's MQTT login reaches Mosquitto's password file (and a SIGHUP) before it dials.
      if (transport === 'mqtt') assert.equal(await hub.app.controlPlane.syncMosquitto(), true);
      const nodeId = JSON.parse(readFileSync(join(dir, 'identity.json'), 'utf8')).nodeId as string;

      const moments: string[] = [];
      for (let i = 0; i < KILLS; i++) {
        agent = startAgent(configPath, logPath);
        const child = agent;
        await until('the state file', () => {
          if (child.exitCode !== null) throw new Error(`agent exited (${child.exitCode})\n${tailOfLog()}`);
          if (state) return true;
          try {
            state = new Database(dbPath, { fileMustExist: true });
            state.pragma('busy_timeout = 5000');
            counters();
            return true;
          } catch {
            state?.close();
            state = undefined;
            return false;
          }
        });
        // Most kills land while batches are in flight (after this process has had an ack); every
        // third lands anywhere from start-up on: half-formed batches, half-written transactions.
        const ackedBefore = counters().acked;
        if (i % 3 !== 2)
          await until(`upload after restart ${i}`, () => {
            if (child.exitCode !== null) throw new Error(`agent exited (${child.exitCode})\n${tailOfLog()}`);
            return counters().acked > ackedBefore;
          });
        const delay = Math.floor(random() * 1200);
        await sleep(delay);
        const c = counters();
        const inFlight = (state!.prepare('SELECT count(*) AS n FROM batches').get() as { n: number }).n;
        moments.push(`${i}: +${delay} ms appended=${c.appended} acked=${c.acked} formed batches=${inFlight}`);
        await killAgent(child);
        assert.equal(child.signalCode, 'SIGKILL', `kill ${i} hit a running agent`);
      }

      // Last start without sources: nothing new is produced, the backlog drains, then a clean stop.
      writeFileSync(configPath, config(dir, hubLine, '[]'));
      agent = startAgent(configPath, logPath);
      const final = await until(
        'the backlog drained',
        () => {
          const c = counters();
          const batches = (state!.prepare('SELECT count(*) AS n FROM batches').get() as { n: number }).n;
          return c.appended > 0 && c.appended === c.acked + c.dropped + c.poisoned && batches === 0 && c;
        },
        120_000,
      );
      await killAgent(agent, 'SIGTERM');

      const why = `${transport}, seed ${seed} (WF_SIGKILL_SEED to replay); kills: ${moments.join('; ')}`;
      assert.equal(final.dropped, 0, why);
      assert.equal(final.poisoned, 0, why);
      // What the agent produced: every appended reading, recorded in the append transaction itself.
      const produced = state!.prepare('SELECT metric, equipment, ts, value FROM history').all() as Row[];
      produced.sort(byKey);
      assert.equal(produced.length, final.appended, `history and outbox counters agree; ${why}`);
      assert.ok(produced.length > 1000, `enough readings to mean something (${produced.length})`);

      const stored = await sql<{ metric: string; equipment: string; ts: string; value: number }>`
      SELECT r.metric, r.equipment, (extract(epoch FROM s.ts) * 1000)::bigint::text AS ts, s.value
      FROM samples s JOIN series r ON r.id = s.series_id
      WHERE r.node_id = ${nodeId}`.execute(hub.tdb.database.db);
      const hubRows: Row[] = stored.rows.map((r) => ({ ...r, ts: Number(r.ts) })).sort(byKey);
      assert.equal(hubRows.length, produced.length, `hub holds as many samples as produced; ${why}`);
      assert.deepEqual(hubRows, produced, why);
      if (transport === 'mqtt') {
        // The batches really came through Mosquitto (the hub counts what its MQTT side stored).
        const viaMqtt = hub.app.controlPlane.stats.telemetry.handled;
        assert.ok(viaMqtt > 10, `telemetry messages handled over MQTT: ${viaMqtt}`);
      }
      t.diagnostic(`${produced.length} readings, all stored exactly once; ${why}`);
    });
  });
