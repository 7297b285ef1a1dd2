// The agent's local dashboard is safe by default: it binds to loopback unless `dashboard.host`
// says otherwise (running and config-error mode alike), reading needs no login, and the one action
// that changes something (send the outbox now) needs the local token — refused without it, off
// when no token is configured. The real agent, not enrolled, with a hub URL nobody listens on.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { parseConfigText } from '../src/config/load.ts';
import { buildDashboard } from '../src/dashboard/server.ts';
import { StandInSupervisor } from '../src/ops/supervisor.ts';
import { Agent } from '../src/runtime/agent.ts';

const dir = mkdtempSync(join(tmpdir(), 'wf-dash-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const logger = pino({ level: 'silent' });
const TOKEN = 'local-dashboard-token-123';

describe('agent dashboard access', () => {
  it('defaults to loopback', () => {
    const r = parseConfigText(
      'version: 2\nhub: { url: "https://hub.example.org" }\nsite: { lat: 1, lon: 1, timezone: UTC }\n',
    );
    assert.ok(r.ok);
    assert.equal(r.config.dashboard.host, '127.0.0.1');
    assert.equal(r.config.dashboard.token, undefined);
    const short = parseConfigText(
      'version: 2\nhub: { url: "https://hub.example.org" }\nsite: { lat: 1, lon: 1, timezone: UTC }\ndashboard: { token: short }\n',
    );
    assert.equal(short.ok, false);
  });

  it('a running agent answers on 127.0.0.1, reads without a token, and acts only with it', async () => {
    const configPath = join(dir, 'agent.yaml');
    writeFileSync(
      configPath,
      `version: 2
hub: { url: "http://127.0.0.1:9" }
identity: { path: ${join(dir, 'identity.json')} }
site: { lat: 52.5, lon: 13.4, timezone: Europe/Berlin }
sources:
  - { type: simulator, key: sim, seed: dash }
poll: { intervalS: 0.2 }
outbox: { path: ${join(dir, 'agent.db')} }
dashboard: { port: 0, token: ${TOKEN} }
logging: { level: info, file: ${join(dir, 'agent.log')} }
`,
    );
    const agent = await Agent.start({ configPath, supervisor: new StandInSupervisor(), logger });
    try {
      assert.equal(agent.mode, 'running');
      assert.match(agent.dashboardUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal((await fetch(`${agent.dashboardUrl}/api/status`)).status, 200);
      const flush = `${agent.dashboardUrl}/api/uplink/flush`;
      assert.equal((await fetch(flush, { method: 'POST' })).status, 401);
      assert.equal(
        (await fetch(flush, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}x` } })).status,
        401,
      );
      const ok = await fetch(flush, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(ok.status, 200);
      const body = (await ok.json()) as { ok: boolean; result: { pending: unknown } };
      assert.equal(body.ok, true);
      assert.ok(body.result.pending);
      // Reading routes stay read-only: no other method changes anything.
      assert.equal((await fetch(`${agent.dashboardUrl}/api/status`, { method: 'POST' })).status, 404);
    } finally {
      await agent.stop();
    }
  });

  it('config-error mode also binds to loopback', async () => {
    const path = join(dir, 'bad.yaml');
    writeFileSync(path, 'version: 2\nhub: { url: "gopher://x" }\ndashboard: { port: 0 }\n');
    const agent = await Agent.start({ configPath: path, logger });
    try {
      assert.equal(agent.mode, 'config-error');
      assert.match(agent.dashboardUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      await agent.stop();
    }
  });

  it('turns actions off while no token is configured', async () => {
    let calls = 0;
    const dashboard = buildDashboard({
      status: () => ({}),
      actions: {
        '/api/uplink/flush': () => {
          calls++;
        },
      },
    });
    const url = await dashboard.listen({ port: 0, host: '127.0.0.1' });
    try {
      const r = await fetch(`${url}/api/uplink/flush`, {
        method: 'POST',
        headers: { authorization: 'Bearer anything-at-all-here' },
      });
      assert.equal(r.status, 403);
      assert.equal(calls, 0);
    } finally {
      await dashboard.close();
    }
  });
});
