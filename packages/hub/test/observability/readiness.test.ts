// /healthz answers while the process lives; /readyz answers 503 naming the failing check while the
// MQTT broker is down (a real Mosquitto, stopped and started again on the same port), while the
// database pool is exhausted (every connection held by the test), while a job run hangs, and when
// a migration is missing — and recovers each time. Both database engines.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { buildHub } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { startControlPlane } from '../../src/mqtt/control-plane.ts';
import { ENGINES, openTestDatabase, type TestDatabase } from '../helpers/engines.ts';
import { ADMIN_TOKEN } from '../helpers/hub.ts';
import { freePort, HUB_USER, MOSQUITTO, mosquittoFiles } from '../mqtt/mosquitto.ts';
import { waitFor } from '../mqtt/mqtt-helpers.ts';

/** A Mosquitto that can be stopped and started again on the same port with the same files. */
class RestartableMosquitto {
  private child: ChildProcess | undefined;
  constructor(
    readonly dir: string,
    readonly port: number,
    private readonly conf: string,
  ) {}

  static async create(dir: string, files: { passwordFile: string; aclFile: string }) {
    const port = await freePort();
    const conf = join(dir, 'mosquitto.conf');
    const lines = [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous false',
      `password_file ${files.passwordFile}`,
      `acl_file ${files.aclFile}`,
      'persistence false',
      'log_dest stderr',
    ];
    if (process.getuid?.() === 0) lines.push('user root');
    writeFileSync(conf, `${lines.join('\n')}\n`);
    return new RestartableMosquitto(dir, port, conf);
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.child = spawn(MOSQUITTO, ['-c', this.conf], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const up = await new Promise<boolean>((resolve) => {
        const s = createConnection({ host: '127.0.0.1', port: this.port }, () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      });
      if (up) return;
      if (Date.now() > deadline || this.child.exitCode !== null) throw new Error('mosquitto did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }
}

async function ready(app: FastifyInstance) {
  const r = await app.inject({ method: 'GET', url: '/readyz' });
  return {
    status: r.statusCode,
    body: r.json() as {
      ok: boolean;
      failing: string[];
      checks: Record<string, { ok: boolean; error?: string }>;
    },
  };
}

for (const engine of ENGINES) {
  describe(`/readyz on ${engine}`, () => {
    let tdb: TestDatabase;
    let app: FastifyInstance;
    let broker: RestartableMosquitto;

    before(async () => {
      tdb = await openTestDatabase(engine);
      const { dir, files } = mosquittoFiles();
      const config = loadConfig(
        {},
        {
          adminToken: ADMIN_TOKEN,
          logLevel: 'warn',
          mqttUrl: 'mqtt://127.0.0.1:1',
          jobStallS: 1,
          controlPlane: {
            username: HUB_USER.username,
            password: HUB_USER.password,
            mosquitto: { ...files, pidFile: undefined },
            heartbeatFlushMs: 100,
            sweepIntervalMs: 200,
          },
        },
      );
      app = await buildHub({ config, database: tdb.database, logger: false });
      await app.ready();
      await app.controlPlane.syncMosquitto();
      broker = await RestartableMosquitto.create(dir, files);
      await broker.start();
      app.hub.config.mqttUrl = broker.url;
    });
    after(async () => {
      await app?.close();
      await broker?.stop();
      if (broker) rmSync(broker.dir, { recursive: true, force: true });
      await tdb?.drop();
    });

    it('is not ready before the broker is connected, then ready; /healthz is alive throughout', async () => {
      const early = await ready(app);
      assert.equal(early.status, 503);
      assert.deepEqual(early.body.failing, ['broker']);
      assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
      await startControlPlane(app);
      const r = await ready(app);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body.failing, []);
      assert.ok(r.body.checks.database?.ok && r.body.checks.broker?.ok && r.body.checks.jobs?.ok);
    });

    it('turns 503 (broker) while Mosquitto is down and recovers when it is back', async () => {
      await broker.stop();
      const down = await waitFor(
        async () => {
          const r = await ready(app);
          return r.status === 503 ? r : undefined;
        },
        15_000,
        'readyz 503',
      );
      assert.deepEqual(down.body.failing, ['broker']);
      assert.match(down.body.checks.broker?.error ?? '', /not connected/);
      assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
      await broker.start();
      await waitFor(async () => (await ready(app)).status === 200, 20_000, 'readyz 200 after broker restart');
    });

    it('turns 503 (database) while every pool connection is held, and recovers when released', async () => {
      const pool = tdb.database.pool as pg.Pool & { options: { max: number } };
      const held: pg.PoolClient[] = [];
      for (let i = 0; i < pool.options.max; i++) held.push(await pool.connect());
      try {
        const r = await ready(app);
        assert.equal(r.status, 503);
        assert.deepEqual(r.body.failing, ['database']);
        assert.match(r.body.checks.database?.error ?? '', /no answer within/);
      } finally {
        for (const c of held) c.release();
      }
      await waitFor(
        async () => (await ready(app)).status === 200,
        10_000,
        'readyz 200 after the pool is free',
      );
    });

    it('turns 503 (jobs) while a job run hangs longer than JOB_STALL_S, and recovers when it ends', async () => {
      let finish: () => void = () => {};
      const hang = new Promise<void>((resolve) => {
        finish = resolve;
      });
      app.scheduler.add({ name: 'test.hang', schedule: '* * * * * *', run: () => hang });
      app.scheduler.start();
      try {
        const stalled = await waitFor(
          async () => {
            const r = await ready(app);
            return r.status === 503 ? r : undefined;
          },
          15_000,
          'readyz 503 for a hung job',
        );
        assert.deepEqual(stalled.body.failing, ['jobs']);
        assert.match(stalled.body.checks.jobs?.error ?? '', /test\.hang/);
        finish();
        await waitFor(
          async () => (await ready(app)).status === 200,
          10_000,
          'readyz 200 after the job ended',
        );
      } finally {
        finish();
        app.scheduler.stop();
      }
    });

    it('turns 503 (database) when a migration this build knows is not applied', async () => {
      // Unit-level: the migration ledger is edited by SQL to stand for an older database.
      const { rows } = await tdb.database.pool.query(
        `DELETE FROM schema_migrations WHERE name = (SELECT max(name) FROM schema_migrations) RETURNING name, timestamp`,
      );
      try {
        const r = await ready(app);
        assert.equal(r.status, 503);
        assert.deepEqual(r.body.failing, ['database']);
        assert.match(
          r.body.checks.database?.error ?? '',
          new RegExp(`migrations not applied: ${rows[0].name}`),
        );
      } finally {
        await tdb.database.pool.query('INSERT INTO schema_migrations (name, timestamp) VALUES ($1, $2)', [
          rows[0].name,
          rows[0].timestamp,
        ]);
      }
      assert.equal((await ready(app)).status, 200);
    });
  });
}
