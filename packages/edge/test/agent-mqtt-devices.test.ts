// Home plugs end to end: the real agent bundle against the real hub (PGlite, embedded broker),
// reading a Shelly Gen2+ plug and a two-relay Tasmota device through the site's LAN broker (the
// machine's Mosquitto). The devices are stand-ins written from the vendors' MQTT documentation
// (sources/mqtt-device-standins.ts). Their relays register as switchable channels; a switch through
// the hub API is published by the agent and confirmed from the device's own status message.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { sql } from 'kysely';
import { agent, ctx, samples, until, useAgentHub } from './helpers/agent-hub.ts';
import {
  type DeviceStandIn,
  startShellyStandIn,
  startTasmotaStandIn,
} from './sources/mqtt-device-standins.ts';

useAgentHub();

const LAN = 'mqtt://127.0.0.1:1883';
type Channel = {
  id: string;
  equipment: string;
  channel: string;
  status: string;
  reportedState: string | null;
};

describe('the real agent with Shelly and Tasmota devices', () => {
  const devices: DeviceStandIn[] = [];
  after(async () => {
    for (const d of devices) await d.close().catch(() => {});
  });

  it('registers their relays, switches them through the hub and stores their meters', async () => {
    const shellyPrefix = `shellyplusplugs-${randomBytes(4).toString('hex')}`;
    const tasmotaTopic = `tasmota_${randomBytes(3).toString('hex')}`;
    const shelly = await startShellyStandIn({ url: LAN, prefix: shellyPrefix, channels: 1 });
    const tasmota = await startTasmotaStandIn({ url: LAN, prefix: tasmotaTopic, channels: 2 });
    devices.push(shelly, tasmota);
    shelly.setLoad(0, 2000);
    const a = await agent(
      'plugs',
      () => `hub: { url: "${ctx.hubUrl}", mqttUrl: "${ctx.brokerUrl}" }
sources:
  - { type: mqtt-device, key: heater, template: shelly-gen2, prefix: ${shellyPrefix}, broker: { url: "${LAN}" } }
  - { type: mqtt-device, key: dual, template: tasmota, prefix: ${tasmotaTopic}, broker: { url: "${LAN}" }, channels: ["1", "2"] }
poll: { intervalS: 0.5 }
`,
    );
    a.start();
    const channels = await until(
      'the plugs registered their channels',
      async () => {
        const res = await ctx.hub.admin('GET', `/api/v1/sites/${a.siteId}/channels`);
        const items = res.json().items as Channel[];
        return items.length === 3 && items;
      },
      a.log,
      90_000,
    );
    assert.deepEqual(channels.map((c) => `${c.equipment}/${c.channel}`).sort(), [
      'dual/1',
      'dual/2',
      'heater/',
    ]);
    await until(
      'node online',
      async () => (await ctx.hub.admin('GET', `/api/v1/nodes/${a.nodeId}`)).json().status === 'online',
      a.log,
    );
    const switchTo = async (c: Channel, state: 'on' | 'off') => {
      const res = await ctx.hub.admin('POST', `/api/v1/channels/${c.id}/switch`, { state });
      assert.equal(res.statusCode, 202, res.body);
      return until(
        'switch settled',
        async () => {
          const v = (await ctx.hub.admin('GET', `/api/v1/channels/${c.id}`)).json() as Channel;
          return v.status !== 'pending' && v;
        },
        a.log,
      );
    };
    const heater = await switchTo(channels.find((c) => c.equipment === 'heater')!, 'on');
    assert.equal(heater.status, 'confirmed', JSON.stringify(heater));
    assert.equal(shelly.output(0), true);
    const relay2 = await switchTo(channels.find((c) => c.equipment === 'dual' && c.channel === '2')!, 'on');
    assert.equal(relay2.status, 'confirmed', JSON.stringify(relay2));
    assert.deepEqual([tasmota.output(0), tasmota.output(1)], [false, true]);

    // The plugs' meters reach the hub as samples of their equipment.
    await until('samples from the plugs', async () => (await samples(a.nodeId)) > 0, a.log);
    const stored = async (equipment: string, metric: string) =>
      (
        await sql<{
          v: number | null;
        }>`SELECT max(s.value) AS v FROM samples s JOIN series r ON r.id = s.series_id
          WHERE r.node_id = ${a.nodeId} AND r.equipment = ${equipment} AND r.metric = ${metric}`.execute(
          ctx.hub.tdb.database.db,
        )
      ).rows[0]?.v;
    assert.equal(
      await until(
        'the heater drawing 2 kW stored',
        async () => (await stored('heater', 'power_w')) === 2000 && 2000,
        a.log,
      ),
      2000,
    );
    assert.equal(
      await until('relay 2 on stored', async () => (await stored('dual.2', 'relay_state')) === 1 && 1, a.log),
      1,
    );
    assert.equal(await stored('dual', 'energy_wh'), 12345, 'Tasmota ENERGY.Total 12.345 kWh');
  });
});
