// The `simulator` source's config section and the model it describes: a whole simulated site
// (PV, household, battery, grid meter, optional relay). The agent's simulator source, its Modbus
// stand-in and the hub's demo fleet all build their model from a section through here.
import Type, { type Static } from 'typebox';
import type { SimulatorModel } from './model.ts';
import { seedNumber } from './noise.ts';
import type { Site } from './profiles.ts';

const strict = { additionalProperties: false } as const;
const Watts = (max: number) => Type.Number({ minimum: 0, maximum: max });
const Percent = Type.Number({ minimum: 0, maximum: 100 });
const Hour = Type.Number({ minimum: 0, maximum: 24 });

export const SimulatorConfig = Type.Object(
  {
    key: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }),
    seed: Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Integer()]),
    /** Simulation step; powers are constant within a step. */
    stepSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600 })),
    /** Where counters start at 0. Default: UTC midnight `historyDays` before the first instant asked for. */
    origin: Type.Optional(Type.String({ format: 'date-time' })),
    historyDays: Type.Optional(Type.Integer({ minimum: 0, maximum: 3660 })),
    /** Overrides the site's location (e.g. several simulated sites behind one agent). */
    location: Type.Optional(
      Type.Object(
        {
          latitude: Type.Number({ minimum: -90, maximum: 90 }),
          longitude: Type.Number({ minimum: -180, maximum: 180 }),
          timezone: Type.String({ minLength: 1 }),
        },
        strict,
      ),
    ),
    pv: Type.Optional(Type.Object({ peakW: Watts(10_000_000) }, strict)),
    load: Type.Optional(Type.Object({ baseW: Watts(1_000_000), peakW: Watts(10_000_000) }, strict)),
    battery: Type.Optional(
      Type.Object(
        {
          capacityWh: Type.Number({ exclusiveMinimum: 0, maximum: 100_000_000 }),
          maxChargeW: Watts(10_000_000),
          maxDischargeW: Type.Optional(Watts(10_000_000)),
          minSocPct: Type.Optional(Percent),
          maxSocPct: Type.Optional(Percent),
          initialSocPct: Type.Optional(Percent),
          efficiency: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
          gridCharge: Type.Optional(
            Type.Object(
              { fromHour: Hour, toHour: Hour, powerW: Watts(10_000_000), targetSocPct: Percent },
              strict,
            ),
          ),
        },
        strict,
      ),
    ),
    relay: Type.Optional(
      Type.Object(
        {
          loadW: Watts(100_000),
          initial: Type.Optional(Type.Enum(['on', 'off'])),
        },
        strict,
      ),
    ),
  },
  strict,
);
export type SimulatorConfig = Static<typeof SimulatorConfig>;

const DAY = 86_400_000;

/** The model behind a config section, defaults applied (also used by the Modbus stand-in). */
export function simulatorModel(config: SimulatorConfig, site: Site): SimulatorModel {
  const b = config.battery;
  return {
    seed: seedNumber(config.seed),
    site: config.location ?? site,
    stepSeconds: config.stepSeconds ?? 60,
    pvPeakW: config.pv?.peakW ?? 5000,
    loadBaseW: config.load?.baseW ?? 250,
    loadPeakW: config.load?.peakW ?? 1000,
    ...(b
      ? {
          battery: {
            capacityWh: b.capacityWh,
            maxChargeW: b.maxChargeW,
            maxDischargeW: b.maxDischargeW ?? b.maxChargeW,
            minSocPct: b.minSocPct ?? 10,
            maxSocPct: b.maxSocPct ?? 100,
            initialSocPct: b.initialSocPct ?? 50,
            efficiency: b.efficiency ?? 0.92,
            ...(b.gridCharge ? { gridCharge: b.gridCharge } : {}),
          },
        }
      : {}),
    ...(config.relay ? { relay: { loadW: config.relay.loadW, initial: config.relay.initial === 'on' } } : {}),
  };
}

/** Origin for a config: explicit, or UTC midnight `historyDays` (default 31) before `firstTs`. */
export function simulatorOrigin(config: SimulatorConfig, firstTs: number): number {
  if (config.origin) return Date.parse(config.origin);
  return Math.floor(firstTs / DAY) * DAY - (config.historyDays ?? 31) * DAY;
}
