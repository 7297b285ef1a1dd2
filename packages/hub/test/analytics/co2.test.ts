// CO₂ avoided (analytics/co2.ts): the pure formula, and the figures of every period the analytics
// answer (day, week, month, year, comparison, fleet) for two days sent through the real ingest
// path, on both engines, with the site's grid intensity set, refused and cleared through the site
// API by the roles that may. Samples are built from the site's local midnight, so the test holds
// whatever the machine's time zone. Every expected number is worked out by hand in the comments.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { co2AvoidedKg } from '../../src/analytics/co2.ts';
import { localDayBounds, localParts } from '../../src/time/zoned.ts';
import { ENGINES } from '../helpers/engines.ts';
import { batchId, createSite, startTestHub, type TestHub, TestNode } from '../helpers/hub.ts';
import { as, createUser, login } from '../identity/helpers.ts';

const TZ = 'America/New_York';
const STEP = 5 * 60_000;
// A Monday: its ISO week is 15–21 June 2026.
const DAY1 = '2026-06-15';
const DAY2 = '2026-06-16';

const close = (actual: number | null, expected: number, what: string) =>
  assert.ok(actual !== null && Math.abs(actual - expected) <= 0.002, `${what}: ${actual} ≠ ${expected}`);

describe('CO₂ avoided (pure)', () => {
  it('is solar used on site or exported × intensity, in kg, and null when not set', () => {
    // (4 + 3 + 2) kWh = 9 kWh × 450 g/kWh = 4050 g = 4.05 kg.
    const e = { solarToLoadWh: 4_000, batterySolarToLoadWh: 3_000, solarExportWh: 2_000 };
    assert.equal(co2AvoidedKg(e, 450), 4.05);
    assert.equal(co2AvoidedKg(e, 0), 0);
    assert.equal(co2AvoidedKg(e, null), null);
    // 1 Wh × 333 g/kWh = 0.333 g: rounds to 0 g.
    assert.equal(co2AvoidedKg({ solarToLoadWh: 1, batterySolarToLoadWh: 0, solarExportWh: 0 }, 333), 0);
  });
});

type S = { metric: string; ts: number; value: number };

/** Day 1: solar 4 kW 08–16 charges the battery 2 kW; the battery gives 1 kW 16–24; load 1 kW. */
function batteryDay(from: number, to: number): S[] {
  const out: S[] = [];
  for (let t = from; t < to; t += STEP) {
    const p = localParts(t, TZ);
    const h = p.hour + p.minute / 60;
    const solar = h >= 8 && h < 16 ? 4000 : 0;
    const battery = h >= 8 && h < 16 ? -2000 : h >= 16 ? 1000 : 0; // + discharge, − charge
    out.push(
      { metric: 'solar_w', ts: t, value: solar },
      { metric: 'load_w', ts: t, value: 1000 },
      { metric: 'battery_w', ts: t, value: battery },
      { metric: 'grid_w', ts: t, value: 1000 - solar - battery },
    );
  }
  return out;
}

/** Day 2: solar 2 kW 10–14, load 1 kW, no battery: half the solar feeds the home, half is exported. */
function plainDay(from: number, to: number): S[] {
  const out: S[] = [];
  for (let t = from; t < to; t += STEP) {
    const h = localParts(t, TZ).hour;
    const solar = h >= 10 && h < 14 ? 2000 : 0;
    out.push(
      { metric: 'solar_w', ts: t, value: solar },
      { metric: 'load_w', ts: t, value: 1000 },
      { metric: 'grid_w', ts: t, value: 1000 - solar },
    );
  }
  return out;
}

// Day 1: solar 32 kWh = 8 to the home + 16 into the battery + 8 exported; the battery gives 8 kWh,
// all solar by origin, to the home 16–24 (8 kWh stays in it). Displaced: 8 + 8 + 8 = 24 kWh.
// Day 2: solar 8 kWh = 4 to the home + 4 exported. Displaced: 8 kWh.
// At 400 g/kWh: day 1 9.6 kg, day 2 3.2 kg, together 12.8 kg.
const INTENSITY = 400;
const KG1 = 9.6;
const KG2 = 3.2;

for (const engine of ENGINES) {
  describe(`CO₂ avoided through ingest on ${engine}`, () => {
    let hub: TestHub;
    let siteId: string;
    let orgId: string;
    let owner: string;
    let viewer: string;

    before(async () => {
      hub = await startTestHub(engine, { retention: { rawDays: 3650, hourlyDays: 3650 } });
      const site = await createSite(hub, { timezone: TZ });
      siteId = site.siteId;
      orgId = site.orgId;
      const node = await TestNode.enroll(hub, siteId);
      const [s1, e1] = localDayBounds(DAY1, TZ);
      const [s2, e2] = localDayBounds(DAY2, TZ);
      const samples = [...batteryDay(s1, e1), ...plainDay(s2, e2)];
      for (let i = 0; i < samples.length; i += 2000) {
        const res = await node.send('/api/v1/ingest/telemetry', {
          batchId: batchId('co2'),
          samples: samples.slice(i, i + 2000),
        });
        assert.equal(res.statusCode, 200, res.body);
      }
      await createUser(hub, orgId, 'owner', 'owner@co2.test');
      await createUser(hub, orgId, 'viewer', 'viewer@co2.test');
      owner = (await login(hub, 'owner@co2.test')).accessToken;
      viewer = (await login(hub, 'viewer@co2.test')).accessToken;
    });
    after(async () => hub?.close());

    const get = async (url: string) => {
      const res = await as(hub, owner, 'GET', url);
      assert.equal(res.statusCode, 200, res.body);
      return res.json();
    };

    it('without an intensity every period answers null, never 0', async () => {
      const site = await get(`/api/v1/sites/${siteId}`);
      assert.equal(site.grid_intensity_g_per_kwh, null);
      const days = await get(`/api/v1/sites/${siteId}/daily?from=${DAY1}&to=${DAY2}`);
      assert.deepEqual(
        days.map((d: { co2AvoidedKg: number | null }) => d.co2AvoidedKg),
        [null, null],
      );
      const cmp = await get(`/api/v1/sites/${siteId}/comparison?from=2026-06-15&to=2026-06-21`);
      assert.equal(cmp.current.co2AvoidedKg, null);
      assert.equal(cmp.changePct.co2AvoidedKg, null);
      const [month] = await get(`/api/v1/sites/${siteId}/monthly?from=2026-06&to=2026-06`);
      assert.equal(month.co2AvoidedKg, null);
    });

    it('refuses an intensity outside 0..2000 g/kWh by field, and a viewer may not set it', async () => {
      for (const bad of [2001, -1, 'lots']) {
        const res = await as(hub, owner, 'PATCH', `/api/v1/sites/${siteId}`, { gridIntensityGPerKwh: bad });
        assert.equal(res.statusCode, 400, `${bad}: ${res.body}`);
        const body = res.json();
        assert.equal(body.code, 'WF_VALIDATION');
        assert.ok(
          body.problems.some((p: { path: string }) => p.path === '/body/gridIntensityGPerKwh'),
          res.body,
        );
      }
      const denied = await as(hub, viewer, 'PATCH', `/api/v1/sites/${siteId}`, { gridIntensityGPerKwh: 300 });
      // A viewer has no write scope on the site: the hub answers as for a site it cannot change (404).
      assert.equal(denied.statusCode, 404, denied.body);
      assert.equal((await get(`/api/v1/sites/${siteId}`)).grid_intensity_g_per_kwh, null);
    });

    it('the owner sets 400 g/kWh: day, week, month, year, comparison and fleet carry the hand-computed kg', async () => {
      const set = await as(hub, owner, 'PATCH', `/api/v1/sites/${siteId}`, {
        gridIntensityGPerKwh: INTENSITY,
      });
      assert.equal(set.statusCode, 200, set.body);
      assert.equal(set.json().grid_intensity_g_per_kwh, INTENSITY);

      const [d1, d2] = await get(`/api/v1/sites/${siteId}/daily?from=${DAY1}&to=${DAY2}`);
      close(d1.co2AvoidedKg, KG1, 'day 1');
      close(d2.co2AvoidedKg, KG2, 'day 2');

      // The week: both days; the week before has no data but an intensity: 0 kg, and no % change.
      const week = await get(`/api/v1/sites/${siteId}/comparison?from=2026-06-15&to=2026-06-21`);
      close(week.current.co2AvoidedKg, KG1 + KG2, 'week');
      assert.equal(week.previous.from, '2026-06-08');
      assert.equal(week.previous.daysWithData, 0);
      assert.equal(week.previous.co2AvoidedKg, 0);
      assert.equal(week.changePct.co2AvoidedKg, null);

      // Day 2 against the day named as previous: (3.2 − 9.6) / 9.6 = −66.67 %.
      const pair = await get(
        `/api/v1/sites/${siteId}/comparison?from=${DAY2}&to=${DAY2}&prevFrom=${DAY1}&prevTo=${DAY1}`,
      );
      close(pair.current.co2AvoidedKg, KG2, 'day 2 in comparison');
      close(pair.previous.co2AvoidedKg, KG1, 'day 1 as previous');
      close(pair.changePct.co2AvoidedKg, ((KG2 - KG1) / KG1) * 100, 'change');

      const months = await get(`/api/v1/sites/${siteId}/monthly?from=2026-05&to=2026-06`);
      assert.equal(months[0].co2AvoidedKg, 0, 'May: no solar, intensity set');
      close(months[1].co2AvoidedKg, KG1 + KG2, 'June');

      // The calendar year against the calendar year before (365 days each).
      const year = await get(
        `/api/v1/sites/${siteId}/comparison?from=2026-01-01&to=2026-12-31&prevFrom=2025-01-01&prevTo=2025-12-31`,
      );
      close(year.current.co2AvoidedKg, KG1 + KG2, 'year');
      assert.equal(year.previous.from, '2025-01-01');

      const fleet = await hub.admin('GET', `/api/v1/installers/${orgId}/fleet?from=${DAY1}&to=${DAY2}`);
      assert.equal(fleet.statusCode, 200, fleet.body);
      close(fleet.json().totals.co2AvoidedKg, KG1 + KG2, 'fleet');
    });

    it('prevFrom without prevTo is refused; clearing the intensity brings null back', async () => {
      const half = await as(
        hub,
        owner,
        'GET',
        `/api/v1/sites/${siteId}/comparison?from=${DAY2}&to=${DAY2}&prevFrom=${DAY1}`,
      );
      assert.equal(half.statusCode, 400, half.body);
      const cleared = await as(hub, owner, 'PATCH', `/api/v1/sites/${siteId}`, {
        gridIntensityGPerKwh: null,
      });
      assert.equal(cleared.statusCode, 200, cleared.body);
      assert.equal(cleared.json().grid_intensity_g_per_kwh, null);
      const [d1] = await get(`/api/v1/sites/${siteId}/daily?from=${DAY1}&to=${DAY1}`);
      assert.equal(d1.co2AvoidedKg, null);
    });
  });
}
