// The continuous sign check for select.live: power readings must agree with the direction the
// energy counters move. Counters tick in coarse steps (often less than one step per minute), so
// power is summed from one counter change to the next and the direction is judged per change.
// Three disagreeing changes in a row raise "sign looks inverted"; three agreeing ones clear it.
import type { Notice } from './adapter.ts';
import type { HfItems, SelectLiveSettings } from './select-live.ts';

interface Pair {
  /** Counter values (kWh, as sent) at the last change. */
  inAt: number;
  outAt: number;
  /** Sum and count of the sign-corrected power since then. */
  sum: number;
  n: number;
  agree: number;
  disagree: number;
  inverted: boolean;
  since?: number;
}

export interface SignEvidence {
  grid?: Pair;
  battery?: Pair;
}

const RUN = 3;
/** Mean power below this says nothing about direction. */
const MIN_W = 50;

function step(
  pair: Pair | undefined,
  counterIn: number,
  counterOut: number,
  power: number,
  /** +1 when our convention makes power positive while counterIn rises (grid import), else -1. */
  inSign: 1 | -1,
  ts: number,
): Pair {
  if (!pair)
    return { inAt: counterIn, outAt: counterOut, sum: 0, n: 0, agree: 0, disagree: 0, inverted: false };
  const p = { ...pair, sum: pair.sum + power, n: pair.n + 1 };
  const dIn = counterIn - p.inAt;
  const dOut = counterOut - p.outAt;
  if (dIn === 0 && dOut === 0) return p;
  // A counter reset (new inverter, vendor fix) is no evidence either way.
  if (dIn < 0 || dOut < 0 || dIn * dOut !== 0)
    return { ...p, inAt: counterIn, outAt: counterOut, sum: 0, n: 0 };
  const mean = p.sum / p.n;
  const next = { ...p, inAt: counterIn, outAt: counterOut, sum: 0, n: 0 };
  if (Math.abs(mean) < MIN_W) return next;
  const expected = dIn > 0 ? inSign : -inSign;
  if (Math.sign(mean) === expected) {
    next.agree = p.agree + 1;
    next.disagree = 0;
    if (next.inverted && next.agree >= RUN) {
      next.inverted = false;
      delete next.since;
    }
  } else {
    next.disagree = p.disagree + 1;
    next.agree = 0;
    if (!next.inverted && next.disagree >= RUN) {
      next.inverted = true;
      next.since = ts;
    }
  }
  return next;
}

export function checkSigns(
  prev: SignEvidence | undefined,
  items: HfItems,
  settings: SelectLiveSettings,
  ts: number,
): { evidence: SignEvidence; notices: Record<string, Notice | null> } {
  const grid = settings.gridImportSign === 'negative' ? -items.grid_w : items.grid_w;
  const battery = settings.batteryChargeSign === 'negative' ? items.battery_w : -items.battery_w;
  const g = step(prev?.grid, items.grid_in_wh_total, items.grid_out_wh_total, grid, 1, ts);
  // Charging (battery_in rising) is negative battery_w in our convention.
  const b = step(prev?.battery, items.battery_in_wh_total, items.battery_out_wh_total, battery, -1, ts);
  const notice = (p: Pair, what: string, setting: string): Notice | null =>
    p.inverted
      ? {
          message: `${what} sign looks inverted: the power readings disagree with the energy counters; check the account's ${setting} setting`,
          since: p.since ?? ts,
        }
      : null;
  return {
    evidence: { grid: g, battery: b },
    notices: {
      grid_sign: notice(g, 'Grid power', 'grid sign'),
      battery_sign: notice(b, 'Battery power', 'battery sign'),
    },
  };
}
