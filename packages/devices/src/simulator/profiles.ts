// The shapes behind the simulator: sun → PV, time of day → household load, grid voltage.
// Each is a pure function of time and seed, so any instant can be computed without history.
import * as SunCalcModule from 'suncalc';
import { zoneOffset } from '../time/zone.ts';
import { hash01, valueNoise } from './noise.ts';

// suncalc sets module.exports at run time, which Node's ESM loader cannot list as named exports:
// under tsx the namespace holds only `default`. Take whichever form actually carries the functions.
const SunCalc: typeof SunCalcModule =
  (SunCalcModule as unknown as { default?: typeof SunCalcModule }).default ?? SunCalcModule;

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

// Noise channels, kept apart so that e.g. clouds and load never move together by accident.
const CH_CLOUD_DAY = 1;
const CH_CLOUD_PASS = 2;
const CH_CLOUD_FLICKER = 3;
const CH_LOAD_DRIFT = 4;
const CH_APPLIANCE = 5;
const CH_APPLIANCE_SIZE = 6;
const CH_VOLTAGE = 7;
const CH_FREQUENCY = 8;

export interface Site {
  latitude: number;
  longitude: number;
  timezone: string;
}

/**
 * Clear-sky share of the array's rated power for a sun altitude (radians): irradiance on a
 * horizontal-ish array through an air mass (Kasten–Young), so PV is 0 below the horizon and
 * peaks when the sun is highest, i.e. near solar noon.
 */
export function clearSkyShare(altitude: number): number {
  if (altitude <= 0) return 0;
  const deg = (altitude * 180) / Math.PI;
  const sinAlt = Math.sin(altitude);
  const airMass = 1 / (sinAlt + 0.50572 * (deg + 6.07995) ** -1.6364);
  const transmittance = 0.7 ** (airMass ** 0.678) / 0.7; // 1 with the sun at zenith
  return Math.min(1, 0.9 * sinAlt ** 1.15 * transmittance);
}

/** Share of clear-sky PV that gets through the clouds: slow daily weather plus passing clouds. */
export function cloudFactor(seed: number, ts: number): number {
  const day = valueNoise(seed, CH_CLOUD_DAY, ts, DAY); // 0 = clear day, 1 = overcast
  const cover = day * day; // most days are fairly clear
  const pass = valueNoise(seed, CH_CLOUD_PASS, ts, 20 * MINUTE);
  const flicker = valueNoise(seed, CH_CLOUD_FLICKER, ts, 3 * MINUTE);
  const shade = cover * (0.45 + 0.45 * pass) + 0.1 * cover * flicker;
  return Math.max(0.05, Math.min(1, 1 - shade));
}

export function pvPower(seed: number, site: Site, peakW: number, ts: number): number {
  if (peakW <= 0) return 0;
  const { altitude } = SunCalc.getPosition(new Date(ts), site.latitude, site.longitude);
  const share = clearSkyShare(altitude);
  return share === 0 ? 0 : peakW * share * cloudFactor(seed, ts);
}

const gauss = (x: number, mu: number, sigma: number): number => Math.exp(-0.5 * ((x - mu) / sigma) ** 2);

/**
 * Household consumption: base load, a morning and a (bigger) evening peak at local time,
 * some midday use, slow drift and short appliance bursts (kettle, oven, washing machine).
 */
export function householdLoad(
  seed: number,
  baseW: number,
  peakW: number,
  ts: number,
  localHour: number,
): number {
  const shape =
    0.55 * gauss(localHour, 7.3, 0.9) + 0.3 * gauss(localHour, 12.8, 1.6) + 1.0 * gauss(localHour, 19.2, 1.7);
  const drift = 0.85 + 0.3 * valueNoise(seed, CH_LOAD_DRIFT, ts, 45 * MINUTE);
  // Appliances switch on in 5-minute slots, more often while people are awake.
  const slot = Math.floor(ts / (5 * MINUTE));
  const awake = localHour >= 6.5 && localHour < 23 ? 1 : 0.15;
  const appliance =
    hash01(seed, CH_APPLIANCE, slot) < 0.04 * awake ? 800 + 1800 * hash01(seed, CH_APPLIANCE_SIZE, slot) : 0;
  return baseW * drift + peakW * shape * drift + appliance;
}

/** Grid voltage near 230 V: slow wander, and a rise while the site exports (as on real feeders). */
export function gridVoltage(seed: number, ts: number, gridW: number): number {
  const wander = 6 * (valueNoise(seed, CH_VOLTAGE, ts, 15 * MINUTE) - 0.5);
  const ripple = 1.2 * (valueNoise(seed, CH_VOLTAGE + 100, ts, 30_000) - 0.5);
  return 230 + wander + ripple - 0.0008 * gridW;
}

export function gridFrequency(seed: number, ts: number): number {
  return 50 + 0.08 * (valueNoise(seed, CH_FREQUENCY, ts, 2 * MINUTE) - 0.5);
}

/** UTC offset of a time zone in ms (from the OS zoneinfo; see time/zone.ts). */
export function utcOffset(timezone: string, ts: number): number {
  return zoneOffset(timezone, ts);
}

/** Fractional local hour of day, 0 ≤ h < 24. */
export function localHour(timezone: string, ts: number): number {
  const local = ts + utcOffset(timezone, ts);
  return (((local % DAY) + DAY) % DAY) / HOUR;
}
