// COPY ME to add a vendor. A complete, working adapter for an imaginary cloud ("Blueprint"),
// small on purpose; test/vendors/blueprint.test.ts runs it against a stand-in server and is the
// test to copy too. Steps for a new vendor:
//   1. Copy this file to adapters/<vendor>.ts; write down the vendor's published behaviour at the top.
//   2. Describe what the owner enters (Credentials) and what the vendor answers (Latest) as TypeBox
//      schemas; check every answer with them: a changed API becomes a 'protocol' error, not bad data.
//   3. Map to the metric catalogue (packages/protocol/src/metrics.ts) with OUR sign conventions
//      and units (W, Wh); batch keys from the vendor's timestamps only (never from the clock).
//   4. Throw VendorError with the right kind: the poller turns kinds into backoff, breaker, alerts.
//   5. Add it to adapters/index.ts and its name to VendorName; write a stand-in server for tests.
import { checker, type Sample } from '@wattfleet/protocol';
import Type from 'typebox';
import type { AdapterContext, PollContext, PollResult, SystemInfo, VendorAdapter } from './adapter.ts';
import { VendorError } from './adapter.ts';
import { parseJson } from './http.ts';

export const BlueprintCredentials = Type.Object(
  { endpoint: Type.String({ format: 'uri' }), token: Type.String({ minLength: 1, maxLength: 500 }) },
  { additionalProperties: false },
);
type Credentials = { endpoint: string; token: string };

const Latest = checker(
  Type.Object({
    ts: Type.Integer({ description: 'epoch seconds of the reading' }),
    power_w: Type.Number(),
    energy_kwh: Type.Number(),
    model: Type.Optional(Type.String()),
  }),
);

async function fetchLatest(ctx: AdapterContext<Credentials>, id: string) {
  const res = await ctx.http.request(
    `${ctx.credentials.endpoint}/v1/systems/${encodeURIComponent(id)}/latest`,
    {
      headers: { authorization: `Bearer ${ctx.credentials.token}` },
    },
  );
  if (res.status === 401 || res.status === 403) {
    throw new VendorError('credentials', 'the token was refused', { httpStatus: res.status });
  }
  if (res.status === 429) throw new VendorError('rate_limited', 'too many requests', { httpStatus: 429 });
  if (res.status >= 500)
    throw new VendorError('unavailable', `HTTP ${res.status}`, { httpStatus: res.status });
  if (res.status !== 200)
    throw new VendorError('protocol', `unexpected HTTP ${res.status}`, { httpStatus: res.status });
  const body = parseJson(res, 'latest');
  if (!Latest.check(body)) throw new VendorError('protocol', 'latest: unexpected shape', { httpStatus: 200 });
  return body;
}

export const blueprintAdapter: VendorAdapter<Credentials> = {
  vendor: 'blueprint',
  label: 'Blueprint (example adapter)',
  credentials: BlueprintCredentials,
  defaultSettings: {},
  policy: () => ({ minIntervalMs: 60_000, slowMs: 5_000, timeoutMs: 10_000 }),

  async connect(ctx, externalId): Promise<SystemInfo> {
    const latest = await fetchLatest(ctx, externalId);
    return { externalId, ...(latest.model ? { model: latest.model } : {}) };
  },

  async poll(ctx: PollContext<Credentials>): Promise<PollResult> {
    const latest = await fetchLatest(ctx, ctx.externalId);
    const ts = latest.ts * 1000;
    const samples: Sample[] = [
      { metric: 'solar_w', ts, value: latest.power_w },
      // The vendor counts kWh; the catalogue counts Wh.
      { metric: 'solar_wh', ts, value: Math.round(latest.energy_kwh * 1_000_000) / 1000 },
    ];
    return {
      batches: [{ key: `bp-${ts}`, samples }],
      live: { ts, values: { solar_w: latest.power_w } },
    };
  },
};
