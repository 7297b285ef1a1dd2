// The real agent bundle against the real hub (see helpers/agent-hub.ts), its clock driven from
// outside (WATTFLEET_CLOCK_OFFSET_MS, the agent's injectable wall clock):
//   - 10 min behind → refused, clock_skew opens, the agent shows its offset; clock fixed →
//     backlog delivered, alert resolved
//   - pinned just before the site's last local midnight, over MQTT → the device daily report
//     arrives and reconciliation compares it with the hub's figure (whatever the time of day)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { EVENT_KINDS } from '@wattfleet/protocol';
import { localDate, localDayStart } from '../src/time/zone.ts';
import {
  agent,
  alertIn,
  ctx,
  events,
  localStatus,
  samples,
  TZ,
  until,
  useAgentHub,
} from './helpers/agent-hub.ts';
import { killAgent } from './helpers/agent-process.ts';

useAgentHub();

describe('the real agent tells the hub about its clock and its days', () => {
  it('a clock 10 min behind is refused, raises clock_skew and shows on the agent; fixed, the backlog arrives', async () => {
    const a = await agent(
      'skew',
      () => `hub: { url: "${ctx.hubUrl}" }
sources: [{ type: simulator, key: sim, seed: skew }]
poll: { intervalS: 1 }
`,
    );
    let child = a.start({ WATTFLEET_CLOCK_OFFSET_MS: String(-10 * 60_000) });
    const open = await until('clock_skew open', alertIn(a.siteId, 'clock_skew', 'open'), a.log);
    assert.match(open[0]!.message, /-60\d s off/);
    const local = await until(
      'the agent knows its offset',
      async () => {
        const s = await localStatus(a.log).catch(() => undefined);
        return typeof s?.clock?.offsetMs === 'number' && s;
      },
      a.log,
    );
    assert.ok(
      Math.abs(local.clock.offsetMs + 600_000) < 5_000,
      `offset on the local status: ${local.clock.offsetMs}`,
    );
    assert.equal(local.clock.synchronised, false);
    assert.ok(local.outbox.depth > 0, 'readings kept on the node');
    assert.match(readFileSync(a.log, 'utf8'), /clock is -60\d s off the hub's/);
    assert.equal(await samples(a.nodeId), 0, 'nothing accepted from a clock outside the window');

    await killAgent(child, 'SIGTERM');
    child = a.start();
    await until('clock_skew resolved', alertIn(a.siteId, 'clock_skew', 'resolved'), a.log);
    await until(
      'the backlog delivered',
      async () => (await localStatus(a.log).catch(() => undefined))?.outbox?.depth === 0,
      a.log,
    );
    assert.ok((await samples(a.nodeId)) >= local.outbox.depth);
    const clockEvents = await until(
      'both clock events delivered',
      async () => {
        // The hub-offset events only: a machine whose OS reports its NTP state adds clock.ntp_*.
        const hubClock: string[] = [EVENT_KINDS.clockUnsynchronised, EVENT_KINDS.clockSynchronised];
        const kinds = (await events(a.nodeId)).map((e) => e.kind).filter((k) => hubClock.includes(k));
        return kinds.length >= 2 && kinds;
      },
      a.log,
    );
    assert.deepEqual(clockEvents, [EVENT_KINDS.clockUnsynchronised, EVENT_KINDS.clockSynchronised]);
    await killAgent(child, 'SIGTERM');
  });

  it('sends one daily report at local midnight over MQTT, and reconciliation compares it with the hub figure', async () => {
    const a = await agent(
      'daily',
      () => `hub: { url: "${ctx.hubUrl}", mqttUrl: "${ctx.brokerUrl}", transport: mqtt }
sources: [{ type: simulator, key: sim, seed: daily }]
poll: { intervalS: 0.25 }
`,
    );
    // The agent's clock starts 20 s before the last local midnight at the site, whatever the time
    // of day the test runs at: the day it finishes is in the past for the hub (no clock limit).
    const now = Date.now();
    const midnight = localDayStart(TZ, localDate(TZ, now));
    const day = localDate(TZ, midnight - 1);
    const child = a.start({ WATTFLEET_CLOCK_OFFSET_MS: String(midnight - 20_000 - now) });
    const rows = await until(
      'reconciliation of the reported day',
      async () => {
        const res = await ctx.hub.admin(
          'GET',
          `/api/v1/sites/${a.siteId}/reconciliation?from=${day}&to=${day}`,
        );
        assert.equal(res.statusCode, 200, res.body);
        const list = (
          res.json() as {
            nodeId: string;
            metric: string;
            reportedWh: number;
            computedWh: number;
            diffPct: number;
            flagged: boolean;
          }[]
        ).filter((r) => r.nodeId === a.nodeId);
        return list.some((r) => r.metric === 'load_kwh') && list;
      },
      a.log,
      90_000,
    );
    const load = rows.find((r) => r.metric === 'load_kwh')!;
    assert.ok(load.reportedWh > 0, `the agent counted some load before midnight: ${load.reportedWh} Wh`);
    for (const r of rows) {
      assert.equal(
        r.flagged,
        false,
        `${r.metric}: device ${r.reportedWh} Wh vs hub ${r.computedWh} Wh (${r.diffPct} %)`,
      );
    }
    assert.ok(ctx.hub.app.controlPlane.stats.daily.handled >= 1, 'the report came over MQTT');
    const local = await localStatus(a.log);
    assert.equal(local.reports.lastDailyReport, day);
    await killAgent(child, 'SIGTERM');
  });
});
