// Staged rollout end to end with real agent bundles: a hub (PGlite) runs the rollout job; three
// agents each have a real Updater (clone a tag from a local bare repository, npm ci, build,
// self-test, atomic swap, restart, health check, roll back if unhealthy) behind a real Dispatcher
// and command log. Two stand-ins, named: the MQTT transport (the test hands each pending
// SELF_UPDATE envelope to the node's dispatcher and its responses to the hub's CommandService, as
// the control plane would), and the heartbeat (after a verdict the test writes the node's status
// and the version from the live release's package.json, which is what the agent reports). The job
// runs with gate and ring wait 0, stepped by the test.
// A good tag completes across both rings; a broken tag (unhealthy after restart) halts after the
// canary, the other nodes are never sent it, and the reason (ROLLED_BACK, the health detail) is reported.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CommandEnvelope } from '@wattfleet/protocol';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildHub } from '../../hub/src/app.ts';
import { loadConfig } from '../../hub/src/config.ts';
import { RolloutService } from '../../hub/src/rollouts/rollouts.service.ts';
import { type Database, openDatabase } from '../../hub/src/storage/database.ts';
import { migrate } from '../../hub/src/storage/migrate.ts';
import { CommandLog } from '../src/control/command-log.ts';
import { Dispatcher, type Response } from '../src/control/dispatcher.ts';
import { selfUpdateHandler, selfUpdateResumer } from '../src/control/handlers/self-update.ts';
import { run, tail } from '../src/ops/exec.ts';
import { StandInSupervisor } from '../src/ops/supervisor.ts';
import { Updater } from '../src/ops/updater.ts';
import { Outbox } from '../src/outbox/outbox.ts';
import { makeAgentRepo } from './helpers/agent-repo.ts';

const TOKEN = 'rollout-e2e-admin-token-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'wf-rollout-'));
const bare = join(dir, 'agent.git');
const logger = pino({ level: 'silent' });

/** One agent: its releases directory, its state database, its dispatcher and updater. */
function agent(name: string, onReply: (r: Response) => void) {
  const releasesDir = join(dir, name, 'opt');
  mkdirSync(releasesDir, { recursive: true });
  const statePath = join(dir, name, 'state.db');
  const supervisor = new StandInSupervisor();
  const makeUpdater = () =>
    new Updater({
      releasesDir,
      repo: `file://${bare}`,
      supervisor,
      build: [process.execPath, 'build.mjs'],
      selfTest: [process.execPath, 'selftest.mjs'],
      healthCheck: async () => {
        const r = await run(process.execPath, ['health.mjs'], { cwd: join(releasesDir, 'current') });
        return { ok: r.code === 0, detail: tail(r.code === 0 ? r.stdout : r.stderr, 3) };
      },
      logger,
    });
  const outbox = Outbox.open(statePath, { maxBytes: 1 << 30 });
  const updater = makeUpdater();
  const dispatcher = new Dispatcher(
    new CommandLog(outbox.db),
    { SELF_UPDATE: selfUpdateHandler(() => updater) },
    onReply,
    { logger },
  );
  // As systemd would: the restarted process opens the same state and finishes the update.
  supervisor.onRestart = async () => {
    const next = Outbox.open(statePath, { maxBytes: 1 << 30 });
    try {
      const d = new Dispatcher(new CommandLog(next.db), {}, onReply, { logger });
      await d.resumeInterrupted({ SELF_UPDATE: selfUpdateResumer(makeUpdater()) });
    } finally {
      next.close();
    }
  };
  const liveVersion = () => {
    try {
      return JSON.parse(
        readFileSync(join(realpathSync(join(releasesDir, 'current')), 'package.json'), 'utf8'),
      ).version as string;
    } catch {
      return null;
    }
  };
  return { dispatcher, liveVersion, close: () => outbox.close() };
}

describe('staged rollout with real agent bundles (PGlite hub)', () => {
  let database: Database;
  let app: FastifyInstance;
  let job: RolloutService;
  const agents = new Map<string, ReturnType<typeof agent>>();
  const nodeIds: string[] = [];
  const pendingReplies: Promise<unknown>[] = [];
  const admin = (method: 'GET' | 'POST', url: string, payload?: object) =>
    app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${TOKEN}` },
      ...(payload ? { payload } : {}),
    });

  before(async () => {
    await makeAgentRepo(join(dir, 'work'), bare, {
      'v1.0.0': { version: '1.0.0', healthy: true },
      'v2.0.0': { version: '2.0.0', healthy: true },
      'v2.1.0': { version: '2.1.0', healthy: false },
    });
    database = await openDatabase({ dataDir: 'memory://' });
    await migrate(database);
    app = await buildHub({
      config: loadConfig({}, { adminToken: TOKEN, logLevel: 'warn' }),
      database,
      logger: false,
    });
    await app.ready();
    job = new RolloutService(app.hub, () => app.controlPlane.commands, { onlineGraceMs: 0 });
    const org = await admin('POST', '/api/v1/orgs', { name: 'Fleet', kind: 'household' });
    const site = await admin('POST', '/api/v1/sites', {
      orgId: org.json().id,
      name: 'Roof',
      timezone: 'UTC',
    });
    const siteId = site.json().id as string;
    for (const name of ['canary', 'b', 'c']) {
      const node = await app.hub.db
        .insertInto('nodes')
        .values({ site_id: siteId, name, kind: 'agent' })
        .returning('id')
        .executeTakeFirstOrThrow();
      nodeIds.push(node.id);
      agents.set(
        node.id,
        agent(name, (r) => {
          pendingReplies.push(app.controlPlane.commands.applyNodeResponse(node.id, siteId, r as never));
        }),
      );
    }
    // Every agent starts on v1.0.0 (installed by its own updater).
    for (const id of nodeIds) {
      await agents.get(id)!.dispatcher.handle({
        id: crypto.randomUUID(),
        type: 'SELF_UPDATE',
        args: { tag: 'v1.0.0' },
        issuedAt: Date.now(),
        expiresAt: Date.now() + 600_000,
      });
      await heartbeat(id);
    }
  });
  after(async () => {
    for (const a of agents.values()) a.close();
    await app?.close();
    await database?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Heartbeat stand-in: online, with the version of the release that is live now. */
  async function heartbeat(id: string) {
    await app.hub.db
      .updateTable('nodes')
      .set({ status: 'online', agent_version: agents.get(id)!.liveVersion() })
      .where('id', '=', id)
      .execute();
  }

  /** MQTT stand-in: hands every pending SELF_UPDATE to its agent, feeds back the verdicts. */
  async function deliver(): Promise<number> {
    const pending = await app.hub.db
      .selectFrom('commands')
      .selectAll()
      .where('state', '=', 'pending')
      .where('type', '=', 'SELF_UPDATE')
      .execute();
    for (const c of pending) {
      const envelope: CommandEnvelope = {
        id: c.id,
        type: 'SELF_UPDATE',
        args: c.args as never,
        issuedAt: c.created_at.getTime(),
        expiresAt: c.expires_at.getTime(),
      };
      await agents.get(c.node_id)!.dispatcher.handle(envelope);
      await new Promise((r) => setTimeout(r, 50)); // a rollback restart is scheduled after the reply
      await Promise.all(pendingReplies.splice(0));
      await heartbeat(c.node_id);
    }
    return pending.length;
  }

  async function drive(id: string) {
    for (let i = 0; i < 20; i++) {
      await job.tick();
      const d = (await admin('GET', `/api/v1/rollouts/${id}`)).json();
      if (['completed', 'halted', 'aborted'].includes(d.rollout.state)) return d;
      await deliver();
    }
    assert.fail('rollout did not finish');
  }

  it('a good tag completes across the rings: every agent runs it', async () => {
    const res = await admin('POST', '/api/v1/rollouts', {
      tag: 'v2.0.0',
      nodeIds,
      rings: [{ count: 1 }, { percent: 100 }],
      gateS: 0,
      ringWaitS: 0,
    });
    assert.equal(res.statusCode, 201, res.body);
    const d = await drive(res.json().rollout.id);
    assert.equal(d.rollout.state, 'completed', JSON.stringify(d));
    assert.deepEqual(
      d.nodes.map((n: { state: string; ring: number }) => [n.ring, n.state]),
      [
        [0, 'succeeded'],
        [1, 'succeeded'],
        [1, 'succeeded'],
      ],
    );
    for (const id of nodeIds) assert.equal(agents.get(id)!.liveVersion(), '2.0.0');
  });

  it('a broken tag halts after the canary; the rest are not updated and the reason is reported', async () => {
    const res = await admin('POST', '/api/v1/rollouts', {
      tag: 'v2.1.0',
      nodeIds,
      rings: [{ count: 1 }, { percent: 100 }],
      gateS: 0,
      ringWaitS: 0,
    });
    assert.equal(res.statusCode, 201, res.body);
    const d = await drive(res.json().rollout.id);
    assert.equal(d.rollout.state, 'halted');
    const [canary, ...rest] = d.nodes;
    assert.equal(canary.state, 'failed');
    assert.match(canary.reason, /^ROLLED_BACK: .*schema too new/);
    assert.match(d.rollout.haltReason, /canary: ROLLED_BACK/);
    assert.deepEqual(
      rest.map((n: { state: string }) => n.state),
      ['skipped', 'skipped'],
    );
    // The canary rolled itself back; the others never got the tag.
    for (const id of nodeIds) assert.equal(agents.get(id)!.liveVersion(), '2.0.0');
    const sent = await app.hub.db
      .selectFrom('commands')
      .select('node_id')
      .where('args', '@>', JSON.stringify({ tag: 'v2.1.0' }) as never)
      .execute();
    assert.deepEqual(
      sent.map((r) => r.node_id),
      [nodeIds[0]],
    );
  });
});
