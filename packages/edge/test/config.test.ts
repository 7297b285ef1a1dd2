import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfigFile, parseConfigText } from '../src/config/load.ts';
import { migrateConfig } from '../src/config/migrations.ts';
import { readConfig } from '../src/runtime/agent.ts';

const dir = mkdtempSync(join(tmpdir(), 'wf-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const minimal =
  'version: 2\nhub: { url: "https://hub.example.org" }\nsite: { lat: 52.5, lon: 13.4, timezone: Europe/Berlin }\n';

describe('agent config', () => {
  it('refuses plain http:// and mqtt:// to another machine unless allowInsecure says so', () => {
    const site = 'site: { lat: 52.5, lon: 13.4, timezone: Europe/Berlin }\n';
    const plain = parseConfigText(
      `version: 2\nhub: { url: "http://hub.example.org", mqttUrl: "mqtt://hub.example.org:1883" }\n${site}`,
    );
    assert.ok(!plain.ok);
    const byPath = new Map(plain.problems.map((p) => [p.path, p.message]));
    assert.match(byPath.get('/hub/url') ?? '', /not encrypted: use https:\/\//);
    assert.match(byPath.get('/hub/mqttUrl') ?? '', /not encrypted: use mqtts:\/\//);
    const ws = parseConfigText(
      `version: 2\nhub: { url: "https://h.example.org", mqttUrl: "ws://10.0.0.5/mqtt" }\n${site}`,
    );
    assert.ok(!ws.ok && ws.problems.some((p) => p.path === '/hub/mqttUrl' && /wss:\/\//.test(p.message)));
    // This machine (a local hub, a forwarded port) and an explicit opt-out are accepted.
    for (const hub of [
      '{ url: "http://127.0.0.1:8080", mqttUrl: "mqtt://localhost:1883" }',
      '{ url: "http://[::1]:8080", mqttUrl: "mqtt://127.0.0.2:1883" }',
      '{ url: "http://hub.lan:8080", mqttUrl: "mqtt://hub.lan:1883", allowInsecure: true }',
      '{ url: "https://hub.example.org", mqttUrl: "mqtts://hub.example.org:8883" }',
    ]) {
      const r = parseConfigText(`version: 2\nhub: ${hub}\n${site}`);
      assert.ok(r.ok, `${hub}: ${JSON.stringify(!r.ok && r.problems)}`);
    }
  });

  it('fills every default from a minimal file', () => {
    const r = parseConfigText(minimal);
    assert.ok(r.ok);
    const c = r.config;
    assert.equal(c.hub.transport, 'http');
    assert.equal(c.outbox.maxBytes, 1024 ** 3);
    assert.deepEqual(c.outbox.retention, { rawDays: 7, dailyDays: 365 });
    assert.equal(c.uplink.batchMaxSamples, 500);
    assert.equal(c.uplink.batchMaxAgeMs, 1000);
    assert.equal(c.dashboard.port, 8081);
    assert.deepEqual(c.sources, []);
  });

  it('lists every problem at once with its path, unknown keys included (more than 8)', () => {
    const r = parseConfigText(`version: 2
hub: { url: "ftp://x", transport: pigeon, extra: 1 }
site: { lat: 100, lon: -200 }
outbox: { maxBytes: 10, retention: { rawDays: 0 } }
uplink: { batchMaxSamples: 0, batchMaxAgeMs: 1 }
dashboard: { port: 70000 }
logging: { level: loud }
sources: [{ type: simulator, key: "bad key!" }, { key: k }]
unknownSection: {}
`);
    assert.ok(!r.ok);
    const paths = r.problems.map((p) => p.path);
    for (const p of [
      '/hub/url',
      '/hub/transport',
      '/hub/extra',
      '/site',
      '/site/lat',
      '/site/lon',
      '/outbox/maxBytes',
      '/outbox/retention/rawDays',
      '/uplink/batchMaxSamples',
      '/uplink/batchMaxAgeMs',
      '/dashboard/port',
      '/logging/level',
      '/sources/0/key',
      '/sources/1',
      '/unknownSection',
    ]) {
      assert.ok(paths.includes(p), `${p} missing from ${JSON.stringify(r.problems, null, 1)}`);
    }
    assert.equal(r.problems.find((p) => p.path === '/hub/extra')?.message, 'unknown key');
    assert.equal(r.problems.find((p) => p.path === '/hub/transport')?.message, 'must be one of: http, mqtt');
  });

  it('checks each source section against its own factory schema and cross-field rules', () => {
    const r = readConfig(
      (() => {
        const p = join(dir, 'sources.yaml');
        writeFileSync(
          p,
          `${minimal}sources:\n  - { type: simulator, key: a, seed: 1, wattage: 3 }\n  - { type: simulator, key: a, seed: 2 }\n  - { type: teleporter, key: t }\n` +
            'tunnel: { host: h, user: u, remotePortMin: 3000, remotePortMax: 2000 }\n',
        );
        return p;
      })(),
    );
    assert.ok(!r.ok);
    const text = r.problems.map((p) => `${p.path} ${p.message}`).join('\n');
    assert.match(text, /\/sources\/0\/wattage/);
    assert.match(text, /\/sources\/1\/key duplicate source key "a"/);
    assert.match(text, /\/sources\/2\/type unknown source type "teleporter"/);
    assert.match(text, /\/tunnel\/remotePortMin must not be greater/);
  });

  it('reports YAML syntax errors with a line number, and a missing file', () => {
    const r = parseConfigText('version: 2\nhub: [unclosed\n');
    assert.ok(!r.ok);
    assert.match(r.problems[0]!.path, /^line \d+/);
    const missing = loadConfigFile(join(dir, 'nope.yaml'));
    assert.ok(!missing.ok);
    assert.match(missing.problems[0]!.message, /cannot read/);
  });

  it('migrates v1 files forward (flat hubUrl/dashboardPort, or no version at all)', () => {
    const v1 =
      'version: 1\nhubUrl: "https://hub.example.org"\ndashboardPort: 9090\nsite: { lat: 1, lon: 2, timezone: UTC }\n';
    const r = parseConfigText(v1);
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.config.version, 2);
    assert.equal(r.config.hub.url, 'https://hub.example.org');
    assert.equal(r.config.dashboard.port, 9090);
    assert.equal(r.migrations.length, 1);
    const unversioned = migrateConfig({ hubUrl: 'http://x' }, 2);
    assert.deepEqual(unversioned.doc, { version: 2, hub: { url: 'http://x' } });
    const future = parseConfigText(minimal.replace('version: 2', 'version: 3'));
    assert.ok(!future.ok);
    assert.equal(future.problems[0]!.path, '/version');
  });

  it('accepts the shipped example config', () => {
    const example = readFileSync(
      new URL('../../../deploy/agent/agent.example.yaml', import.meta.url),
      'utf8',
    );
    const p = join(dir, 'example.yaml');
    writeFileSync(p, example);
    const r = readConfig(p);
    assert.ok(r.ok, JSON.stringify(!r.ok && r.problems));
  });
});
