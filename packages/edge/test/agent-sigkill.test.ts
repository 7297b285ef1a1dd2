// The agent process (the bundle, started as systemd starts it) is SIGKILLed at random moments
// while it uploads to the real hub on PostgreSQL, 12 times, and restarted each time. In the end
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
import { createSite, startTestHub, type TestHub } from '../../hub/test/helpers/hub.ts';
import { buildBundle, bundleCli, killAgent, startAgent } from './helpers/agent-process.ts';

const KILLS = 12;
const dir = mkdtempSync(join(tmpdir(), 'wf-sigkill-'));
const logPath = join(dir, 'agent.out');
const dbPath = join(dir, 'outbox.db');

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

function tailOfLog(): string {
  try {
    return readFileSync(logPath, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '';
  }
}

function config(hubUrl: string, sources: string): string {
  return `version: 2
hub: { url: "${hubUrl}", transport: http }
identity: { path: ${join(dir, 'identity.json')} }
site: { lat: 52.5, lon: 13.4, timezone: Europe/Berlin }
sources: ${sources}
poll: { intervalS: 0.1 }
outbox: { path: ${dbPath} }
uplink: { batchMaxSamples: 25, batchMaxAgeMs: 50 }
dashboard: { port: 0, host: 127.0.0.1 }
logging: { level: warn }
`;
}

describe('agent SIGKILLed while uploading to the real hub (PostgreSQL)', () => {
  let hub: TestHub;
  let hubUrl: string;
  let agent: ChildProcess | undefined;
  let state: Database.Database | undefined;
  const counters = () =>
    Object.fromEntries(
      (state!.prepare('SELECT name, value FROM counters').all() as { name: string; value: number }[]).map(
        (r) => [r.name, r.value],
      ),
    ) as Record<'appended' | 'acked' | 'dropped' | 'poisoned', number>;

  before(async () => {
    await buildBundle();
    hub = await startTestHub('postgres');
    hubUrl = await hub.app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    if (agent) await killAgent(agent);
    state?.close();
    await hub?.close();
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
        hubUrl,
        '[{ type: simulator, key: roof, seed: sigkill-a }, { type: simulator, key: garage, seed: sigkill-b }]',
      ),
    );
    await bundleCli(configPath, ['enroll', '--hub', hubUrl, '--code', code.json().code]);
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
    writeFileSync(configPath, config(hubUrl, '[]'));
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

    const why = `seed ${seed} (WF_SIGKILL_SEED to replay); kills: ${moments.join('; ')}`;
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
    t.diagnostic(`${produced.length} readings, all stored exactly once; ${why}`);
  });
});
