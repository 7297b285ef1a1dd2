// select.live (Selectronic SP PRO). Published behaviour this follows:
// - POST /login with form fields `email` and `pwd`: success is a 302 to the dashboard with the
//   session cookie `mojolicious`; failure is a 200 page containing "Bad email address or password".
// - GET /dashboard/hfdata/{system_number} answers {"items": {…}}; a 401 means the session expired
//   (log in again once, then fail).
// - 500/503 in minutes 48–52 of every hour are a maintenance window: skip quietly.
// - Counters named *_wh_total are in kWh despite their names.
// - Signs: public clients measured grid_w negative while importing and battery_w negative while
//   charging (an older write-up says the opposite for both), so both are account settings with
//   the measured defaults, checked continuously against the counter deltas (sign-check.ts).
// - Rate limits are undocumented: at most one poll a minute; the poller backs off on 429 and on
//   slow answers.
import { checker, type Sample } from '@wattfleet/protocol';
import Type from 'typebox';
import type { AdapterContext, PollContext, PollResult, SystemInfo, VendorAdapter } from './adapter.ts';
import { VendorError } from './adapter.ts';
import { parseJson } from './http.ts';
import { checkSigns, type SignEvidence } from './sign-check.ts';

export const SelectLiveCredentials = Type.Object(
  {
    email: Type.String({ minLength: 3, maxLength: 200 }),
    password: Type.String({ minLength: 1, maxLength: 200 }),
  },
  { additionalProperties: false },
);
export type SelectLiveCredentials = { email: string; password: string };

const Num = Type.Number();
/** The fields we read; select.live sends more, which is fine (additional properties allowed). */
export const HfData = Type.Object({
  items: Type.Object({
    solarinverter_w: Num,
    shunt_w: Num,
    load_w: Num,
    grid_w: Num,
    battery_w: Num,
    battery_soc: Num,
    fault_code: Type.Optional(Num),
    fault_ts: Type.Optional(Num),
    gen_status: Type.Optional(Num),
    solar_wh_total: Num,
    load_wh_total: Num,
    battery_in_wh_total: Num,
    battery_out_wh_total: Num,
    grid_in_wh_total: Num,
    grid_out_wh_total: Num,
    /** Reading time (epoch seconds) where the system reports one. */
    timestamp: Type.Optional(Num),
  }),
});
export type HfItems = {
  solarinverter_w: number;
  shunt_w: number;
  load_w: number;
  grid_w: number;
  battery_w: number;
  battery_soc: number;
  fault_code?: number;
  solar_wh_total: number;
  load_wh_total: number;
  battery_in_wh_total: number;
  battery_out_wh_total: number;
  grid_in_wh_total: number;
  grid_out_wh_total: number;
  timestamp?: number;
};
const hfData = checker(HfData);

export interface SelectLiveSettings {
  /** Sign of select.live's grid_w while importing (measured: negative). */
  gridImportSign: 'negative' | 'positive';
  /** Sign of select.live's battery_w while charging (measured: negative). */
  batteryChargeSign: 'negative' | 'positive';
}
export const SELECT_LIVE_DEFAULTS: SelectLiveSettings = {
  gridImportSign: 'negative',
  batteryChargeSign: 'negative',
};

const MAINTENANCE_MINUTES = [48, 52] as const;
const COOKIE = 'mojolicious';

/** kWh (as select.live sends its *_wh_* counters) → Wh, without float noise in the last digits. */
export const kwhToWh = (kwh: number): number => Math.round(kwh * 1_000_000) / 1000;

export function inMaintenanceWindow(now: number): boolean {
  const minute = new Date(now).getUTCMinutes();
  return minute >= MAINTENANCE_MINUTES[0] && minute <= MAINTENANCE_MINUTES[1];
}

/** Maps one hfdata reading onto the catalogue (our signs: grid + import, battery + discharge). */
export function mapItems(items: HfItems, settings: SelectLiveSettings, ts: number): Sample[] {
  const grid = settings.gridImportSign === 'negative' ? -items.grid_w : items.grid_w;
  const battery = settings.batteryChargeSign === 'negative' ? items.battery_w : -items.battery_w;
  const s = (metric: string, value: number): Sample => ({ metric, ts, value, equipment: 'inverter' });
  const out = [
    s('solar_w', items.solarinverter_w + items.shunt_w),
    s('load_w', items.load_w),
    s('grid_w', grid),
    s('battery_w', battery),
    s('battery_soc', items.battery_soc),
    s('solar_wh', kwhToWh(items.solar_wh_total)),
    s('load_wh', kwhToWh(items.load_wh_total)),
    s('grid_import_wh', kwhToWh(items.grid_in_wh_total)),
    s('grid_export_wh', kwhToWh(items.grid_out_wh_total)),
    s('battery_charge_wh', kwhToWh(items.battery_in_wh_total)),
    s('battery_discharge_wh', kwhToWh(items.battery_out_wh_total)),
  ];
  if (items.fault_code !== undefined) out.push(s('error_code', items.fault_code));
  return out;
}

function settingsOf(raw: Record<string, unknown>): SelectLiveSettings {
  return {
    gridImportSign: raw.gridImportSign === 'positive' ? 'positive' : 'negative',
    batteryChargeSign: raw.batteryChargeSign === 'positive' ? 'positive' : 'negative',
  };
}

async function login(ctx: AdapterContext<SelectLiveCredentials>): Promise<string> {
  const base = ctx.config.selectLive.baseUrl;
  const res = await ctx.http.request(`${base}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ email: ctx.credentials.email, pwd: ctx.credentials.password }).toString(),
  });
  if (res.status === 302) {
    const cookie = res.headers
      .getSetCookie()
      .map((c) => c.split(';')[0]!)
      .find((c) => c.startsWith(`${COOKIE}=`));
    if (!cookie)
      throw new VendorError('protocol', 'login redirected without a session cookie', { httpStatus: 302 });
    ctx.session.set('cookie', cookie);
    return cookie;
  }
  if (res.status === 200 && res.text.includes('Bad email address or password')) {
    ctx.session.delete('cookie');
    throw new VendorError('credentials', 'select.live rejected the email address or password', {
      httpStatus: 200,
    });
  }
  throw statusError(res.status, 'login', ctx.now);
}

function statusError(status: number, what: string, now: number): VendorError {
  if ((status === 500 || status === 503) && inMaintenanceWindow(now)) {
    return new VendorError('maintenance', `${what}: ${status} during the hourly maintenance window`, {
      httpStatus: status,
    });
  }
  if (status === 429)
    return new VendorError('rate_limited', `${what}: 429 Too Many Requests`, { httpStatus: status });
  if (status >= 500) return new VendorError('unavailable', `${what}: HTTP ${status}`, { httpStatus: status });
  return new VendorError('protocol', `${what}: unexpected HTTP ${status}`, { httpStatus: status });
}

async function readLatest(ctx: AdapterContext<SelectLiveCredentials>, system: string): Promise<HfItems> {
  const url = `${ctx.config.selectLive.baseUrl}/dashboard/hfdata/${encodeURIComponent(system)}`;
  let cookie = (ctx.session.get('cookie') as string | undefined) ?? (await login(ctx));
  for (let attempt = 0; ; attempt++) {
    const res = await ctx.http.request(url, { headers: { cookie, accept: 'application/json' } });
    if (res.status === 401) {
      ctx.session.delete('cookie');
      // The session expired: log in again once; a second 401 right after a fresh login is a failure.
      if (attempt > 0)
        throw new VendorError('unavailable', 'hfdata: 401 right after a fresh login', { httpStatus: 401 });
      cookie = await login(ctx);
      continue;
    }
    if (res.status !== 200) throw statusError(res.status, 'hfdata', ctx.now);
    const body = parseJson(res, 'hfdata');
    if (!hfData.check(body)) {
      const first = hfData.problems(body)[0];
      throw new VendorError('protocol', `hfdata: unexpected shape (${first?.path} ${first?.message})`, {
        httpStatus: 200,
      });
    }
    return body.items as HfItems;
  }
}

export const selectLiveAdapter: VendorAdapter<SelectLiveCredentials> = {
  vendor: 'select_live',
  label: 'Selectronic SP PRO (select.live)',
  credentials: SelectLiveCredentials,
  defaultSettings: { ...SELECT_LIVE_DEFAULTS },
  policy: (config) => ({
    minIntervalMs: 60_000,
    slowMs: config.selectLive.slowMs,
    timeoutMs: config.selectLive.timeoutMs,
  }),

  async connect(ctx, externalId): Promise<SystemInfo> {
    // Logging in and reading the system once proves both the credentials and the system number.
    await readLatest(ctx, externalId);
    // hfdata carries no model, serial or size; what select.live identifies is the SP PRO by number.
    return {
      externalId,
      name: `select.live system ${externalId}`,
      model: 'Selectronic SP PRO',
      serial: externalId,
    };
  },

  async poll(ctx: PollContext<SelectLiveCredentials>): Promise<PollResult> {
    const settings = settingsOf(ctx.settings);
    const items = await readLatest(ctx, ctx.externalId);
    // The system's own reading time where present; else the minute of the poll, so that two polls
    // of the same reading within a minute still form the same batch.
    const ts = items.timestamp ? Math.round(items.timestamp * 1000) : Math.floor(ctx.now / 60_000) * 60_000;
    const samples = mapItems(items, settings, ts);
    const signs = checkSigns(ctx.cursor.signs as SignEvidence | undefined, items, settings, ts);
    const live: Record<string, number> = {};
    for (const s of samples) live[s.metric] = s.value;
    return {
      batches: [{ key: `sl-${ts}`, samples }],
      live: { ts, values: live },
      cursor: { signs: signs.evidence },
      notices: signs.notices,
    };
  },
};
