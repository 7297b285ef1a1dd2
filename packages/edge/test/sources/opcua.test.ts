// The opcua source against a real node-opcua server on loopback: subscriptions in each security
// mode (the agent's own certificate trusted by the server, the server's by thumbprint), unit
// conversion from the YAML template, the server restarted mid-subscription (the source comes back
// by itself), an untrusted server certificate (a clear error naming its thumbprint, and the
// poller's `equipment.unreachable` event), and DIAGNOSTICS' browse of the server's variables.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EVENT_KINDS, WattfleetError } from '@wattfleet/protocol';
import { parse as parseYaml } from 'yaml';
import { EventJournal } from '../../src/events/journal.ts';
import { Reachability } from '../../src/events/reachability.ts';
import { AgentState } from '../../src/outbox/agent-state.ts';
import { Outbox } from '../../src/outbox/outbox.ts';
import { ReportQueue } from '../../src/outbox/reports.ts';
import { LiveState } from '../../src/runtime/live-state.ts';
import { Poller } from '../../src/runtime/poller.ts';
import { BUILTIN_TEMPLATES_DIR } from '../../src/sources/modbus/source.ts';
import type { OpcUaProbe } from '../../src/sources/opcua/source.ts';
import {
  loadOpcUaTemplate,
  opcUaTemplatesDir,
  parseOpcUaTemplate,
} from '../../src/sources/opcua/template.ts';
import { createSource, sourceRegistry } from '../../src/sources/registry.ts';
import { hasProbe, type Reading, type Source } from '../../src/sources/types.ts';
import { startTestServer, type TestServer } from './opcua-server.ts';

const dir = mkdtempSync(join(tmpdir(), 'wf-opcua-'));
// The template shipped with the agent: the test server holds exactly its nodes.
const templatesDir = BUILTIN_TEMPLATES_DIR;
const dataDir = join(dir, 'data');
const ctx = { site: { latitude: 52.5, longitude: 13.4, timezone: 'Europe/Berlin' }, templatesDir, dataDir };
const opened: Source[] = [];
let server: TestServer;

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 60_000,
): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// A template of the test's own: nodes named by browse path, and two the server does not have.
const ownTemplatesDir = join(dir, 'templates');
mkdirSync(join(ownTemplatesDir, 'opcua'), { recursive: true });
writeFileSync(
  join(ownTemplatesDir, 'opcua', 'partly-wrong.yaml'),
  `template: partly-wrong
description: a meter template with a mistyped node id and a browse path the server lacks
kind: meter
nodes:
  - { browsePath: "/1:Meter/1:Power", metric: grid_w, unit: kW }
  - { nodeId: "ns=1;s=Meter.Energy", metric: grid_import_wh, unit: kWh }
  - { nodeId: "ns=1;s=Meter.Enrgy", metric: grid_export_wh, unit: kWh }
  - { browsePath: "/1:Meter/1:Voltage", metric: voltage_l1 }
  - { browsePath: "/1:Meter/1:Serial", info: serial }
`,
);

async function source(config: Record<string, unknown>, context: typeof ctx = ctx): Promise<Source> {
  const s = await createSource(
    'opcua',
    {
      template: 'example-meter',
      endpoint: server.endpoint,
      reconnect: { initialDelayMs: 200, maxDelayMs: 1000 },
      samplingIntervalMs: 100,
      publishingIntervalMs: 100,
      timeoutMs: 5000,
      ...config,
    },
    context,
  );
  opened.push(s);
  return s;
}

const byMetric = (readings: Reading[]) => Object.fromEntries(readings.map((r) => [r.metric, r.value]));

/** Waits until a read gives what the server holds now (W and Wh, from kW and kWh). */
const readsServer = (s: Source) =>
  until(`${s.key} reads the server's values`, async () => {
    const got = byMetric(await s.read(Date.now()));
    const want = { grid_w: server.values.powerKw * 1000, grid_import_wh: server.values.energyKwh * 1000 };
    return got.grid_w === want.grid_w && got.grid_import_wh === want.grid_import_wh ? got : undefined;
  });

before(async () => {
  server = await startTestServer({ pkiDir: dir });
});

after(async () => {
  await Promise.all(opened.map((s) => s.close?.()));
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('opcua source config and templates', () => {
  it('lists every problem of a config section at once', () => {
    const problems = sourceRegistry.problems('opcua', {
      key: 'ua',
      endpoint: 'http://plc:4840',
      securityMode: 'Encrypt',
      trustedServerCertificates: ['not-a-thumbprint'],
      samplingIntervalMs: 1,
      colour: 'red',
    });
    const paths = problems.map((p) => p.path).sort();
    for (const p of ['/endpoint', '/securityMode', '/trustedServerCertificates/0', '/samplingIntervalMs'])
      assert.ok(paths.includes(p), `${p} in ${paths.join(' ')}`);
    const said = problems.map((p) => `${p.path} ${p.message}`).join('\n');
    assert.match(said, /template/, 'the missing template is named');
    assert.match(said, /colour/, 'the unknown key is named');
  });

  it('refuses to build a source from a bad section, naming the field', async () => {
    const err = await createSource(
      'opcua',
      {
        key: 'ua-bad',
        endpoint: 'opc.tcp://127.0.0.1:4840',
        template: 'example-meter',
        securityMode: 'sign',
      },
      ctx,
    ).then(
      () => assert.fail('built'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WattfleetError);
    assert.equal(err.code, 'WF_VALIDATION');
    assert.match(err.message, /invalid config for source type "opcua"/);
    assert.deepEqual(
      err.problems?.map((p) => p.path),
      ['/securityMode'],
    );
    // A template the config names but the folder lacks: said before anything connects.
    await assert.rejects(
      createSource('opcua', { key: 'ua-x', endpoint: 'opc.tcp://127.0.0.1:4840', template: 'no-such' }, ctx),
      /no OPC UA template "no-such"/,
    );
  });

  it('a template node is named by exactly one of nodeId and browsePath', () => {
    assert.throws(
      () =>
        parseOpcUaTemplate(`template: bad
description: bad
nodes:
  - { nodeId: "ns=1;s=A", browsePath: "/1:A", metric: grid_w }
  - { metric: grid_import_wh }
  - { browsePath: "Meter/Power", metric: grid_export_wh }
`),
      (err: Error & { problems?: { path: string; message: string }[] }) => {
        const msgs = (err.problems ?? []).map((p) => `${p.path}: ${p.message}`);
        assert.ok(
          msgs.some((m) => m.startsWith('/nodes/2/browsePath')),
          msgs.join('\n'),
        );
        return true;
      },
    );
    assert.throws(
      () =>
        parseOpcUaTemplate(`template: bad
description: bad
nodes:
  - { nodeId: "ns=1;s=A", browsePath: "/1:A", metric: grid_w }
  - { metric: grid_import_wh }
`),
      (err: Error & { problems?: { path: string; message: string }[] }) => {
        const msgs = (err.problems ?? []).map((p) => `${p.path}: ${p.message}`);
        assert.deepEqual(msgs, [
          '/nodes/0: a node needs exactly one of nodeId or browsePath',
          '/nodes/1: a node needs exactly one of nodeId or browsePath',
        ]);
        return true;
      },
    );
  });

  it("the docs' copy-me config section and template are valid", () => {
    const doc = readFileSync(new URL('../../../../docs/edge-sources.md', import.meta.url), 'utf8');
    const opcua = doc.slice(doc.indexOf('## OPC UA'));
    const [section, template] = [...opcua.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const [{ type, ...rest }] = parseYaml(section!) as [{ type: string }];
    assert.equal(type, 'opcua');
    assert.deepEqual(sourceRegistry.problems('opcua', rest), []);
    assert.equal(parseOpcUaTemplate(template!).nodes.length, 3);
  });

  it('every OPC UA template shipped with the agent parses', async () => {
    const names = readdirSync(opcUaTemplatesDir(BUILTIN_TEMPLATES_DIR)).filter((f) => f.endsWith('.yaml'));
    assert.ok(names.includes('example-meter.yaml'));
    for (const f of names) await loadOpcUaTemplate(BUILTIN_TEMPLATES_DIR, f.slice(0, -'.yaml'.length));
  });

  it('checks a template by meaning: units that do not convert, unknown metrics, duplicates', () => {
    assert.throws(
      () =>
        parseOpcUaTemplate(`template: bad
description: bad
nodes:
  - { nodeId: "ns=1;s=A", metric: grid_w, unit: kWh }
  - { nodeId: "ns=1;s=A", metric: no_such_metric }
  - { nodeId: "ns=1;s=B" }
`),
      (err: Error & { problems?: { path: string; message: string }[] }) => {
        const msgs = (err.problems ?? []).map((p) => `${p.path}: ${p.message}`);
        assert.ok(
          msgs.some((m) => m.startsWith('/nodes/0/unit') && /"W"/.test(m)),
          msgs.join('\n'),
        );
        assert.ok(
          msgs.some((m) => m.startsWith('/nodes/1/nodeId')),
          msgs.join('\n'),
        );
        assert.ok(
          msgs.some((m) => m.startsWith('/nodes/1/metric')),
          msgs.join('\n'),
        );
        assert.ok(
          msgs.some((m) => m.startsWith('/nodes/2') && /metric or info/.test(m)),
          msgs.join('\n'),
        );
        return true;
      },
    );
  });
});

describe('opcua source against a real server', () => {
  it('subscribes without security, anonymously, and converts kW / kWh to W / Wh', async () => {
    const s = await source({ key: 'ua-none' });
    const got = await readsServer(s);
    assert.deepEqual(got, { grid_w: 1500, grid_import_wh: 1_234_500 });
    assert.equal(s.info().serial, 'WF-UA-0001', 'identity read from the info node');
    assert.equal(s.info().kind, 'meter');
    // A change on the server arrives by the subscription (no read request is made for it).
    server.values.powerKw = 2.25;
    await readsServer(s);
  });

  for (const securityMode of ['Sign', 'SignAndEncrypt'] as const) {
    it(`subscribes with ${securityMode}, user and password, once each side trusts the other`, async () => {
      const s = await source({
        key: `ua-${securityMode}`,
        securityMode,
        user: { username: 'operator', password: 'secret' },
        trustedServerCertificates: [server.thumbprint.toUpperCase().match(/../g)!.join(':')],
      });
      assert.ok(hasProbe(s));
      // The agent made its own certificate; the server's admin trusts it (here: the test).
      const cert = ((await s.probe()) as OpcUaProbe).clientCertificate;
      assert.match(cert.thumbprint, /^[0-9a-f]{40}$/);
      assert.ok(cert.file?.startsWith(join(dataDir, 'opcua-pki')), cert.file);
      await server.trustClient(readFileSync(cert.file!, 'utf8'));
      await readsServer(s);
    });
  }

  it('browses the server: DIAGNOSTICS lists its variables with node ids, types and values', async () => {
    const s = opened.find((x) => x.key === 'ua-none')!;
    assert.ok(hasProbe(s));
    const probe = (await s.probe()) as OpcUaProbe;
    assert.equal(probe.ok, true, probe.detail);
    const power = probe.variables?.find((v) => v.nodeId === 'ns=1;s=Meter.Power');
    assert.deepEqual(power, {
      nodeId: 'ns=1;s=Meter.Power',
      path: '/1:Meter/1:Power',
      dataType: 'Double',
      value: server.values.powerKw,
    });
    assert.ok(probe.variables?.some((v) => v.nodeId === 'ns=1;s=Meter.Serial' && v.dataType === 'String'));
    assert.ok(!probe.variables?.some((v) => v.nodeId.startsWith('i=')), 'the standard namespace is left out');
  });

  it('a server that gives no subscription is read at each poll instead; mode polling forces that', async () => {
    server.allowSubscriptions(false);
    try {
      const s = await source({ key: 'ua-nosub' });
      await readsServer(s);
      assert.ok(hasProbe(s));
      assert.equal(((await s.probe()) as OpcUaProbe).mode, 'polling');
      // Each read asks the server: a change is there at the next read.
      server.values.powerKw = 4.5;
      assert.equal(byMetric(await s.read(Date.now())).grid_w, 4500);
      server.values.powerKw = 2.25;
      await s.close?.();
      opened.splice(opened.indexOf(s), 1);
    } finally {
      server.allowSubscriptions(true);
    }
    const forced = await source({ key: 'ua-polling', mode: 'polling' });
    await readsServer(forced);
    assert.ok(hasProbe(forced));
    assert.equal(((await forced.probe()) as OpcUaProbe).mode, 'polling');
    const subscribed = opened.find((x) => x.key === 'ua-none')!;
    assert.ok(hasProbe(subscribed));
    assert.equal(((await subscribed.probe()) as OpcUaProbe).mode, 'subscription');
  });

  it('nodes by browse path; a bad node id or path is named, and the other nodes keep reading', async () => {
    const s = await source(
      { key: 'ua-partly', template: 'partly-wrong' },
      { ...ctx, templatesDir: ownTemplatesDir },
    );
    const got = await until('the good nodes read', async () => {
      const r = byMetric(await s.read(Date.now()));
      return r.grid_w === server.values.powerKw * 1000 && r.grid_import_wh !== undefined ? r : undefined;
    });
    assert.deepEqual(
      Object.keys(got).sort(),
      ['grid_import_wh', 'grid_w'],
      'only the good nodes give metrics',
    );
    assert.equal(s.info().serial, 'WF-UA-0001', 'the serial found by its browse path');
    assert.ok(hasProbe(s));
    const probe = await until('both bad nodes reported', async () => {
      const p = (await s.probe()) as OpcUaProbe;
      return Object.keys(p.nodeErrors).length === 2 ? p : undefined;
    });
    assert.equal(probe.ok, true, 'the source itself is up');
    assert.match(probe.nodeErrors['ns=1;s=Meter.Enrgy'] ?? '', /BadNodeIdUnknown/);
    assert.match(probe.nodeErrors['browse path /1:Meter/1:Voltage'] ?? '', /BadNoMatch/);
    assert.match(probe.detail, /refused by the server: .*ns=1;s=Meter\.Enrgy/);
    // Still subscribed: a change of a good node arrives.
    server.values.powerKw = 2.5;
    await until('the change', async () => byMetric(await s.read(Date.now())).grid_w === 2500);
    server.values.powerKw = 2.25;
    await s.close?.();
    opened.splice(opened.indexOf(s), 1);
  });

  it('a server restarted mid-subscription: reads fail while it is down, then resume by themselves', async () => {
    const sources = opened.filter((x) => x.key.startsWith('ua-'));
    await Promise.all(sources.map(readsServer));
    const { port, values } = server;
    await server.stop();
    for (const s of sources)
      await until(`${s.key} notices`, () =>
        s.read(Date.now()).then(
          () => undefined,
          () => true,
        ),
      );
    await assert.rejects(sources[0]!.read(Date.now()), /lost|closed|connect|failed/i);
    // While the server is away no read passes an old value off as a new sample.
    for (const s of sources) await assert.rejects(s.read(Date.now()));
    const before = server.values.powerKw * 1000;
    values.powerKw = 3.5;
    server = await startTestServer({ pkiDir: dir, port, values });
    // Same PKI on both sides: the trust given before still holds; session and subscription are new.
    // The first power reading after the outage is the server's new value, never the pre-outage one.
    await Promise.all(
      sources.map(async (s) => {
        const first = await until(`${s.key} reads again`, async () => {
          const r = await s.read(Date.now()).catch(() => []);
          return byMetric(r).grid_w;
        });
        assert.notEqual(first, before, `${s.key}: no stale value after the reconnect`);
        assert.equal(first, 3500);
      }),
    );
    await Promise.all(sources.map(readsServer));
  });

  it('an untrusted server certificate: a clear error with its thumbprint, and equipment.unreachable', async () => {
    const s = await source({ key: 'ua-untrusted', securityMode: 'SignAndEncrypt' });
    const outbox = Outbox.open(join(dir, 'outbox.db'), { maxBytes: 1 << 30 });
    const events: { kind: string; equipment?: string; data?: Record<string, unknown> }[] = [];
    class RecordingJournal extends EventJournal {
      override emit(...args: Parameters<EventJournal['emit']>) {
        const e = super.emit(...args);
        events.push(e as (typeof events)[number]);
        return e;
      }
    }
    const journal = new RecordingJournal(new ReportQueue(outbox.db, 'events'), { now: () => Date.now() });
    const reachability = new Reachability(journal, new AgentState(outbox.db), 3);
    const poller = new Poller(() => new Map([[s.key, s]]), outbox, new LiveState(), { intervalMs: 60_000 });
    poller.onSourceResult = (key, error) =>
      error === null ? reachability.ok(key) : reachability.failed(key, error);
    try {
      for (let i = 0; i < 3; i++) {
        // Each cycle waits for the source's current attempt to have failed.
        await until('a failed attempt', async () =>
          (await s.read(Date.now()).catch((e: Error) => e)) instanceof Error ? true : undefined,
        );
        await poller.cycle();
      }
      const [down] = events.filter((e) => e.kind === EVENT_KINDS.equipmentUnreachable);
      assert.ok(down, 'equipment.unreachable emitted');
      assert.equal(down.equipment, 'ua-untrusted');
      const error = String(down.data?.error);
      assert.match(error, /server certificate not trusted/);
      assert.ok(error.includes(server.thumbprint), `${error} names ${server.thumbprint}`);
      assert.match(error, /trustedServerCertificates/);
      // The refused certificate is kept where the error says it can be moved from.
      assert.ok(readdirSync(join(dataDir, 'opcua-pki', 'rejected')).length > 0, 'copied into rejected/');
      assert.equal(poller.health.get('ua-untrusted')?.errors, 3);
    } finally {
      outbox.close();
    }
  });
});
