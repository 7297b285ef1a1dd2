// The equipment inventory end to end: the real agent bundle (started as systemd starts it) against
// the real hub (PGlite, embedded broker), with a simulator and a SunSpec inverter behind a Modbus
// TCP stand-in whose config carries `identity`. Nothing is written into the hub by the test; what
// it checks is the portal's own answer, GET /api/v1/sites/{siteId}/equipment:
//   - both equipment registered, the inverter with the vendor, model and serial its identity
//     registers answered and the firmware and label of its config, answering, with a last reading;
//   - the stand-in stops: the inverter becomes unreachable, and the reason says why;
//   - a CONFIG_PUSH (a config reload) without the inverter: it becomes absent, the simulator stays.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { BUILTIN_TEMPLATES_DIR } from '../src/sources/modbus/source.ts';
import { type StandIn, startStandIn } from '../src/sources/modbus/standin.ts';
import { loadTemplate } from '../src/sources/modbus/template.ts';
import { simulatedDevice } from '../src/sources/simulator/device.ts';
import { agent, ctx, TEMPLATES, TZ, until, useAgentHub } from './helpers/agent-hub.ts';
import { killAgent } from './helpers/agent-process.ts';

useAgentHub();

interface Equipment {
  key: string;
  kind: string;
  source: string | null;
  label: string | null;
  vendor: string | null;
  model: string | null;
  serial: string | null;
  firmware: string | null;
  metrics: string[];
  present: boolean;
  state: string;
  reason: string;
  lastReading: { ts: string; values: { metric: string; value: number }[] } | null;
}

const IDENTITY = { vendor: 'Wattfleet', model: 'Stand-in 103', serial: 'WF-INV-0042' };

describe('the equipment inventory, from the real agent to the hub', () => {
  let standIn: StandIn | undefined;
  before(async () => {
    const device = simulatedDevice(
      { key: 'sim', seed: 'equipment-e2e', pv: { peakW: 6000 } },
      { latitude: 52.5, longitude: 13.4, timezone: TZ },
    );
    standIn = await startStandIn({
      templates: await Promise.all(TEMPLATES.map((n) => loadTemplate(BUILTIN_TEMPLATES_DIR, n))),
      values: (now) => device.values(now),
      identity: IDENTITY,
    });
  });
  after(async () => {
    await standIn?.close();
  });

  it('registers, reports unreachable, and drops what a reload removes', async () => {
    const SIMULATOR = '  - { type: simulator, key: sim, seed: equipment-e2e }';
    const INVERTER = `  - { type: modbus-tcp, key: inverter, host: 127.0.0.1, port: ${standIn!.port}, templates: [${TEMPLATES.join(', ')}], timeoutMs: 500, identity: { label: Roof inverter, firmware: "4.7.1" } }`;
    const a = await agent(
      'equipment',
      () => `hub: { url: "${ctx.hubUrl}", mqttUrl: "${ctx.brokerUrl}" }
sources:
${SIMULATOR}
${INVERTER}
poll: { intervalS: 0.5 }
health: { unreachableAfter: 3 }
`,
    );
    const child = a.start();
    const list = async () => {
      const res = await ctx.hub.admin('GET', `/api/v1/sites/${a.siteId}/equipment`);
      assert.equal(res.statusCode, 200, res.body);
      return new Map((res.json().equipment as Equipment[]).map((e) => [e.key, e]));
    };
    const when = (what: string, ok: (e: Map<string, Equipment>) => boolean) =>
      until(
        what,
        async () => {
          const e = await list();
          return ok(e) && e;
        },
        a.log,
      );

    // The first inventory goes out at start; the one after the first reads carries the identity
    // the inverter answered and its metrics.
    const answering = await when(
      'both equipment answering, the inverter with its identity',
      (e) =>
        e.get('sim')?.state === 'answering' &&
        e.get('inverter')?.state === 'answering' &&
        e.get('inverter')?.serial === IDENTITY.serial &&
        (e.get('inverter')?.metrics.length ?? 0) > 0,
    );
    const inverter = answering.get('inverter')!;
    assert.deepEqual(
      {
        kind: inverter.kind,
        source: inverter.source,
        label: inverter.label,
        vendor: inverter.vendor,
        model: inverter.model,
        serial: inverter.serial,
        firmware: inverter.firmware,
        present: inverter.present,
        reason: inverter.reason,
      },
      {
        kind: 'inverter',
        source: 'modbus-tcp',
        label: 'Roof inverter',
        ...IDENTITY,
        firmware: '4.7.1',
        present: true,
        reason: 'Answering',
      },
    );
    assert.ok(inverter.metrics.includes('solar_w'), inverter.metrics.join());
    assert.ok(inverter.lastReading, 'a last reading');
    assert.ok(inverter.lastReading.values.length > 0, JSON.stringify(inverter.lastReading));
    for (const v of inverter.lastReading.values)
      assert.ok(inverter.metrics.includes(v.metric) && Number.isFinite(v.value), JSON.stringify(v));
    assert.ok(Date.now() - Date.parse(inverter.lastReading.ts) < 60_000, inverter.lastReading.ts);
    const sim = answering.get('sim')!;
    assert.equal(sim.source, 'simulator');
    assert.ok(sim.lastReading && sim.lastReading.values.length > 0, JSON.stringify(sim));
    assert.deepEqual([...answering.keys()].sort(), ['inverter', 'sim']);

    // The inverter goes off the network: after `unreachableAfter` failed reads the agent says so.
    await standIn!.close();
    standIn = undefined;
    const down = await when('the inverter unreachable', (e) => e.get('inverter')?.state === 'unreachable');
    assert.match(down.get('inverter')!.reason, /^The node cannot read it: .*(ECONNREFUSED|connect|closed)/i);
    assert.equal(down.get('inverter')!.present, true);
    assert.equal(down.get('sim')!.state, 'answering', 'the simulator is not affected');

    // A config reload (CONFIG_PUSH through the hub) without the inverter: the next inventory
    // leaves it out, and the hub keeps it as absent (its history stays).
    const without = readFileSync(a.configPath, 'utf8').replace(`${INVERTER}\n`, '');
    assert.ok(!without.includes('modbus-tcp'));
    const cmd = await ctx.hub.admin('POST', `/api/v1/nodes/${a.nodeId}/commands`, {
      type: 'CONFIG_PUSH',
      args: { config: without, healthTimeoutS: 5 },
    });
    assert.equal(cmd.statusCode, 201, cmd.body);
    const done = await until(
      'the push finished',
      async () => {
        const c = (await ctx.hub.admin('GET', `/api/v1/nodes/${a.nodeId}/commands/${cmd.json().id}`)).json();
        return ['succeeded', 'failed', 'expired'].includes(c.state) && c;
      },
      a.log,
    );
    assert.equal(done.state, 'succeeded', JSON.stringify(done));
    const gone = await when('the inverter absent', (e) => e.get('inverter')?.state === 'absent');
    assert.equal(gone.get('inverter')!.present, false);
    assert.equal(gone.get('inverter')!.reason, "No longer in the node's configuration");
    assert.equal(gone.get('inverter')!.serial, IDENTITY.serial, 'what it was stays on record');
    assert.equal(gone.get('sim')!.present, true);
    assert.equal(gone.get('sim')!.state, 'answering');
    await killAgent(child, 'SIGTERM');
  });
});
