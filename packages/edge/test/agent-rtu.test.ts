// Serial Modbus end to end with nothing stood in but the devices and the wire: the real agent
// bundle against the real hub (PGlite, embedded broker), reading an RS-485 bus made of a socat
// pseudo-terminal and an RTU bus stand-in with two slaves (a SunSpec inverter at unit 1, an
// eight-coil relay board at unit 17). Samples reach the hub; the board's channels register and
// switch through the hub API (confirmed from the coil read back over RTU); a slave that stops
// answering opens equipment_unreachable naming the unit and the port, and resolves when it answers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type RtuStandIn, startRtuStandIn } from '../src/sources/modbus/rtu-standin.ts';
import { BUILTIN_TEMPLATES_DIR } from '../src/sources/modbus/source.ts';
import { loadTemplate } from '../src/sources/modbus/template.ts';
import { simulatedDevice } from '../src/sources/simulator/device.ts';
import {
  agent,
  alertIn,
  alerts,
  ctx,
  samples,
  TEMPLATES,
  TZ,
  until,
  useAgentHub,
} from './helpers/agent-hub.ts';
import { type SerialBridge, startSerialBridge } from './sources/serial-bridge.ts';

useAgentHub();

describe('the real agent on a Modbus RTU bus', () => {
  let bus: RtuStandIn;
  let tty: SerialBridge;
  before(async () => {
    const device = simulatedDevice(
      { key: 'sim', seed: 'rtu-agent', pv: { peakW: 6000 } },
      {
        latitude: 52.5,
        longitude: 13.4,
        timezone: TZ,
      },
    );
    const load = (names: string[]) => Promise.all(names.map((n) => loadTemplate(BUILTIN_TEMPLATES_DIR, n)));
    bus = await startRtuStandIn({
      slaves: [
        { unitId: 1, templates: await load(TEMPLATES), values: (now) => device.values(now) },
        { unitId: 17, templates: await load(['modbus-relay-board-8']), values: () => ({}) },
      ],
    });
    tty = await startSerialBridge(bus.port);
  });
  after(async () => {
    await tty?.close();
    await bus?.close();
  });

  it('reads, switches and reports a silent slave over one serial port', async () => {
    const a = await agent(
      'rtu',
      () => `hub: { url: "${ctx.hubUrl}", mqttUrl: "${ctx.brokerUrl}" }
sources:
  - { type: modbus-rtu, key: inverter, path: ${tty.path}, baudRate: 19200, unitId: 1, templates: [${TEMPLATES.join(', ')}], timeoutMs: 400 }
  - { type: modbus-rtu, key: board, path: ${tty.path}, baudRate: 19200, unitId: 17, templates: [modbus-relay-board-8], timeoutMs: 400 }
poll: { intervalS: 0.5 }
health: { unreachableAfter: 3 }
`,
    );
    a.start();
    await until('samples from the RTU inverter', async () => (await samples(a.nodeId)) > 0, a.log, 90_000);

    type Channel = {
      id: string;
      equipment: string;
      channel: string;
      status: string;
      reportedState: string | null;
    };
    const channels = await until(
      'the board registered its eight channels',
      async () => {
        const res = await ctx.hub.admin('GET', `/api/v1/sites/${a.siteId}/channels`);
        const items = res.json().items as Channel[];
        return items.length === 8 && items;
      },
      a.log,
    );
    await until(
      'node online',
      async () => (await ctx.hub.admin('GET', `/api/v1/nodes/${a.nodeId}`)).json().status === 'online',
      a.log,
    );
    const ch5 = channels.find((c) => c.channel === 'ch5')!;
    const sent = await ctx.hub.admin('POST', `/api/v1/channels/${ch5.id}/switch`, { state: 'on' });
    assert.equal(sent.statusCode, 202, sent.body);
    const settled = await until(
      'switch settled',
      async () => {
        const c = (await ctx.hub.admin('GET', `/api/v1/channels/${ch5.id}`)).json() as Channel;
        return c.status !== 'pending' && c;
      },
      a.log,
    );
    assert.equal(settled.status, 'confirmed', JSON.stringify(settled));
    assert.equal(settled.reportedState, 'on');
    assert.equal(bus.relayState(17, 'ch5'), 'on', 'the coil really switched');
    assert.equal(bus.relayState(17, 'ch4'), 'off');

    bus.fault(1, 'silent');
    try {
      const open = await until(
        'equipment_unreachable open',
        alertIn(a.siteId, 'equipment_unreachable', 'open'),
        a.log,
      );
      assert.deepEqual(
        open.map((x) => x.target_id),
        [`${a.nodeId}/inverter`],
        'only the silent slave: the board on the same bus still answers',
      );
      assert.match(open[0]!.message, /no answer from unit 1 on .*ttyWF0 within 400 ms/);
    } finally {
      bus.fault(1, undefined);
    }
    await until(
      'equipment_unreachable resolved',
      alertIn(a.siteId, 'equipment_unreachable', 'resolved'),
      a.log,
    );
    assert.equal((await alerts(a.siteId, 'equipment_unreachable')).length, 1);
  });
});
