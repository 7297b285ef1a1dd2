// The hub's log as an operator reads it, captured from a whole workflow at LOG_LEVEL=debug (the
// most that is ever written): users, login and refresh, an enrollment code, a node enrolling and
// connecting over MQTT (and a wrong MQTT password), a realtime URL with ?token=, a metrics scrape.
// Not one secret of that workflow appears in any line. Request lines are debug, slow ones info,
// a 5xx warn; an unexpected error is logged exactly once with the correlation id the client got.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { generateNodeKeyPair } from '@wattfleet/protocol';
import type { FastifyInstance } from 'fastify';
import mqtt from 'mqtt';
import { buildHub } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { startControlPlane } from '../../src/mqtt/control-plane.ts';
import { createHubLogger, usePretty } from '../../src/observability/logger.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/engines.ts';
import { ADMIN_TOKEN } from '../helpers/hub.ts';
import { connectNode } from '../mqtt/mqtt-helpers.ts';

const METRICS_TOKEN = 'metrics-token-for-log-test-42';
const PASSWORD = 'Sup3r-secret-passphrase!';

interface Line {
  level: number;
  msg: string;
  reqId?: string;
  correlationId?: string;
  status?: number;
  route?: string;
  url?: string;
  err?: { message: string };
}

describe('hub logs', () => {
  let tdb: TestDatabase;
  let app: FastifyInstance;
  let raw = '';
  const lines = (): Line[] =>
    raw
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Line);
  const secrets: Record<string, string> = {
    adminToken: ADMIN_TOKEN,
    metricsToken: METRICS_TOKEN,
    password: PASSWORD,
  };

  before(async () => {
    tdb = await openTestDatabase('pglite');
    const stream = new PassThrough();
    stream.on('data', (d: Buffer) => {
      raw += d.toString();
    });
    const config = loadConfig(
      {},
      {
        adminToken: ADMIN_TOKEN,
        metricsToken: METRICS_TOKEN,
        logLevel: 'debug',
        slowRequestMs: 50,
        mqttPort: 0,
        controlPlane: { heartbeatFlushMs: 100, sweepIntervalMs: 200 },
      },
    );
    app = await buildHub({ config, database: tdb.database, logger: { level: 'debug', stream } });
    app.get('/test/boom', async () => {
      throw new Error('kaboom in a handler');
    });
    app.get('/test/slow', async () => {
      await new Promise((r) => setTimeout(r, 120));
      return { ok: true };
    });
    await app.ready();
    await startControlPlane(app);
  });
  after(async () => {
    await app?.close();
    await tdb?.drop();
  });

  it('writes no secret of a whole workflow into any line', async () => {
    const admin = (method: string, url: string, payload?: object) =>
      app.inject({
        method: method as 'GET',
        url,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        ...(payload ? { payload } : {}),
      });
    const org = (await admin('POST', '/api/v1/orgs', { name: 'Logs', kind: 'household' })).json();
    const site = (
      await admin('POST', '/api/v1/sites', {
        orgId: org.id,
        name: 'Roof',
        timezone: 'UTC',
        latitude: 1,
        longitude: 1,
      })
    ).json();
    const user = await admin('POST', '/api/v1/users', {
      orgId: org.id,
      role: 'owner',
      email: 'owner@logs.test',
      password: PASSWORD,
    });
    assert.equal(user.statusCode, 201, user.body);
    const login = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: 'owner@logs.test', password: PASSWORD },
    });
    assert.equal(login.statusCode, 200, login.body);
    secrets.accessToken = login.json().accessToken;
    secrets.refreshToken = login.json().refreshToken;
    const wrong = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: 'owner@logs.test', password: `${PASSWORD}x` },
    });
    assert.equal(wrong.statusCode, 401);
    const refreshed = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      payload: { refreshToken: secrets.refreshToken },
    });
    assert.equal(refreshed.statusCode, 200, refreshed.body);
    secrets.refreshed = refreshed.json().refreshToken;
    await app.inject({ method: 'GET', url: `/api/v1/realtime?token=${secrets.accessToken}` });

    const code = await admin('POST', `/api/v1/sites/${site.id}/enrollment-codes`, {});
    assert.equal(code.statusCode, 201, code.body);
    secrets.enrollmentCode = code.json().code;
    const pair = generateNodeKeyPair();
    const enrolled = await app.inject({
      method: 'POST',
      url: '/api/v1/nodes/enroll',
      payload: { code: secrets.enrollmentCode, publicKey: pair.publicKey, name: 'log agent' },
    });
    assert.equal(enrolled.statusCode, 200, enrolled.body);
    const node = {
      nodeId: enrolled.json().nodeId as string,
      mqttPassword: enrolled.json().mqtt.password as string,
    };
    secrets.mqttPassword = node.mqttPassword;
    const again = await app.inject({
      method: 'POST',
      url: '/api/v1/nodes/enroll',
      payload: { code: secrets.enrollmentCode, publicKey: pair.publicKey, name: 'again' },
    });
    assert.ok(again.statusCode >= 400);
    const client = await connectNode(app.controlPlane.brokerUrl!, node);
    await client.endAsync();
    await assert.rejects(
      mqtt.connectAsync(app.controlPlane.brokerUrl!, {
        username: node.nodeId,
        password: `${node.mqttPassword}-wrong`,
        reconnectPeriod: 0,
        protocolVersion: 4,
      }),
    );
    const scrape = await app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    assert.equal(scrape.statusCode, 200);
    await new Promise((r) => setTimeout(r, 200));

    assert.ok(lines().length > 10, 'the workflow was logged');
    for (const [name, value] of Object.entries(secrets)) {
      assert.ok(value && value.length >= 8, `${name} was captured`);
      assert.ok(!raw.includes(value), `${name} appears in the log`);
    }
    const realtime = lines().find((l) => l.url?.startsWith('/api/v1/realtime'));
    assert.equal(realtime?.url, '/api/v1/realtime?token=%5Bredacted%5D');
  });

  it('logs requests at debug, slow ones at info and a 5xx at warn; the error once with its correlation id', async () => {
    raw = '';
    await app.inject({ method: 'GET', url: '/healthz' });
    await app.inject({ method: 'GET', url: '/test/slow' });
    const boom = await app.inject({ method: 'GET', url: '/test/boom' });
    assert.equal(boom.statusCode, 500);
    const { correlationId } = boom.json();
    assert.ok(correlationId);
    const all = lines();
    const health = all.find((l) => l.route === '/healthz');
    assert.equal(health?.level, 20);
    assert.equal(health?.msg, 'request');
    const slow = all.find((l) => l.route === '/test/slow');
    assert.equal(slow?.level, 30);
    assert.equal(slow?.msg, 'slow request');
    const failed = all.find((l) => l.route === '/test/boom');
    assert.equal(failed?.level, 40);
    assert.equal(failed?.reqId, correlationId);
    const errors = all.filter((l) => l.err?.message === 'kaboom in a handler');
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.equal(errors[0]?.correlationId, correlationId);
    assert.equal(errors[0]?.level, 50);
  });

  it('is pretty on a terminal and JSON anywhere else', () => {
    assert.equal(usePretty('auto', true), true);
    assert.equal(usePretty('auto', false), false);
    assert.equal(usePretty('json', true), false);
    assert.equal(usePretty('pretty', false), true);
    let out = '';
    const sink = new PassThrough();
    sink.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const pretty = createHubLogger({ logLevel: 'info', hubId: 'h', logFormat: 'pretty' }, sink);
    pretty.info({ nodeId: 'n1', token: 'should-not-show' }, 'hello operator');
    assert.match(out, /INFO/);
    assert.match(out, /hello operator/);
    assert.ok(!out.includes('should-not-show'));
    assert.throws(() => JSON.parse(out.split('\n')[0]!));
  });
});
