// Wire schemas of the analytics API: params, queries and every response, used by the TypeBox type
// provider (types in the routes and the service come from here) and by the OpenAPI document.
// Responses serialise: a field not declared here never reaches a client, so every field the
// portal (packages/web/src/api/analytics.ts) and outside clients read is declared.
import { MONTH_PATTERN } from '@wattfleet/protocol';
import Type, { type Static } from 'typebox';

// Strict calendar formats from the protocol: `2024-02-30` or `0000-01-01` never reach SQL.
const DATE = Type.String({ format: 'date' });
const MONTH = Type.String({ pattern: MONTH_PATTERN });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const Stamp = Type.String({ format: 'date-time' });

export const SiteParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
export const NodeParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
export const OrgParams = Type.Object({ org: Type.String({ format: 'uuid' }) });

/** Local days of the site, both inclusive, at most 366 days. */
export const DayRange = Type.Object({ from: DATE, to: DATE }, { additionalProperties: false });
export type DayRange = Static<typeof DayRange>;
/** A range of local days, and optionally the range to compare it with (both or neither). */
export const ComparisonQuery = Type.Object(
  { from: DATE, to: DATE, prevFrom: Type.Optional(DATE), prevTo: Type.Optional(DATE) },
  { additionalProperties: false },
);
/** Months (YYYY-MM), both inclusive. */
export const MonthRange = Type.Object({ from: MONTH, to: MONTH }, { additionalProperties: false });
export const FleetQuery = Type.Object({ from: Type.Optional(DATE), to: Type.Optional(DATE) });
export type FleetQuery = Static<typeof FleetQuery>;

/** The energy figures of a day or a period. kWh figures are rounded to whole Wh. */
const EnergyFields = {
  solarKwh: Type.Number(),
  loadKwh: Type.Number(),
  importKwh: Type.Number(),
  exportKwh: Type.Number(),
  batteryChargeKwh: Type.Number(),
  batteryDischargeKwh: Type.Number(),
  selfConsumptionPct: Nullable(Type.Number()),
  selfSufficiencyPct: Nullable(Type.Number()),
  peakDemandKw: Nullable(Type.Number({ description: 'Highest 15-minute average import, kW' })),
  cost: Nullable(Type.Number({ description: 'Import cost under the tariff; null without a tariff' })),
  baselineCost: Nullable(Type.Number({ description: 'What the load would have cost from the grid alone' })),
  savings: Nullable(Type.Number()),
  currency: Nullable(Type.String()),
  co2AvoidedKg: Nullable(
    Type.Number({
      description:
        "CO₂ avoided, kg: solar used on site (directly or through the battery) or exported × the site's grid intensity (analytics/co2.ts); null when the site has no grid intensity set",
    }),
  ),
};

export const Day = Type.Object({
  day: DATE,
  ...EnergyFields,
  coverage: Type.Number({ description: 'Share of the day the hub has measurements for (0 = no data)' }),
  counterResets: Type.Integer(),
  computedAt: Stamp,
});
export type Day = Static<typeof Day>;
export const DayList = Type.Array(Day);

/** Energy distribution of the period (the owner app's Sankey); assumptions in energy-flows.ts. */
const Flows = Type.Object({
  solarToHomeKwh: Type.Number(),
  solarToBatteryKwh: Type.Number(),
  solarToGridKwh: Type.Number(),
  gridToHomeKwh: Type.Number(),
  gridToBatteryKwh: Type.Number(),
  batteryToHomeKwh: Type.Number(),
  batteryToGridKwh: Type.Number(),
});

const PeriodFields = {
  days: Type.Integer(),
  daysWithData: Type.Integer({ description: 'Days with any measurement: 0 before the install' }),
  ...EnergyFields,
  peakLoadKw: Nullable(Type.Number()),
  flows: Flows,
};
export const Period = Type.Object(PeriodFields);
export type Period = Static<typeof Period>;

export const Month = Type.Object({ month: MONTH, ...PeriodFields });
export type Month = Static<typeof Month>;
export const MonthList = Type.Array(Month);

const DatedPeriod = Type.Object({ from: DATE, to: DATE, ...PeriodFields });
export const Comparison = Type.Object({
  current: DatedPeriod,
  previous: Type.Object(DatedPeriod.properties, {
    description: 'prevFrom..prevTo when given, else the same number of days just before the current range',
  }),
  changePct: Type.Object(
    {
      solarKwh: Nullable(Type.Number()),
      loadKwh: Nullable(Type.Number()),
      importKwh: Nullable(Type.Number()),
      exportKwh: Nullable(Type.Number()),
      cost: Nullable(Type.Number()),
      savings: Nullable(Type.Number()),
      co2AvoidedKg: Nullable(Type.Number()),
    },
    { description: 'Change from previous to current, %; null when either is missing or previous is 0' },
  ),
});
export type Comparison = Static<typeof Comparison>;

export const FleetTotals = Type.Object({
  from: Nullable(DATE),
  to: Nullable(DATE),
  sites: Type.Integer(),
  activeSites: Type.Integer(),
  alertingSites: Type.Integer(),
  totals: Period,
});
export type FleetTotals = Static<typeof FleetTotals>;

export const Gap = Type.Object({ from: Stamp, to: Stamp, seconds: Type.Number() });
export type Gap = Static<typeof Gap>;

/** Telemetry batches the node formed and the hub never got (a hole in the batch sequence). */
export const LostBatches = Type.Object({
  fromSeq: Type.Integer({ description: 'First batch sequence number of the hole' }),
  toSeq: Type.Integer({ description: 'Last batch sequence number of the hole (inclusive)' }),
  batches: Type.Integer(),
  nextSampleAt: Nullable(
    Type.String({ format: 'date-time', description: 'Earliest reading of the batch after the hole' }),
  ),
  detectedAt: Stamp,
});
export type LostBatches = Static<typeof LostBatches>;

export const NodeDayCompleteness = Type.Object({
  nodeId: Type.String({ format: 'uuid' }),
  day: DATE,
  intervalS: Type.Number({ description: 'The interval the day was measured against' }),
  intervalSource: Type.Union([Type.Literal('reported'), Type.Literal('learned'), Type.Literal('default')]),
  reportedIntervalS: Nullable(Type.Number()),
  learnedIntervalS: Nullable(
    Type.Number({ description: 'The shortest per-series median spacing seen that day' }),
  ),
  intervalMismatch: Type.Boolean({ description: 'Reported and learned disagree by more than 1.5×' }),
  expected: Type.Integer(),
  received: Type.Integer(),
  pct: Type.Number(),
  gaps: Type.Array(Gap),
  lostBatchCount: Type.Integer({
    description: 'Batches lost (sequence holes still open) whose next batch began this day',
  }),
  lostBatches: Type.Array(LostBatches),
});
export type NodeDayCompleteness = Static<typeof NodeDayCompleteness>;
export const CompletenessList = Type.Array(NodeDayCompleteness);

export const ReconciliationRow = Type.Object({
  day: DATE,
  nodeId: Type.String({ format: 'uuid' }),
  equipment: Type.String(),
  metric: Type.String(),
  reportedWh: Type.Number(),
  computedWh: Type.Number(),
  diffPct: Nullable(Type.Number()),
  flagged: Type.Boolean(),
});
export const ReconciliationList = Type.Array(ReconciliationRow);
export type ReconciliationList = Static<typeof ReconciliationList>;

/** One aggregated data-contract finding of a node (ingest/data-quality.ts). */
export const DataQualityFinding = Type.Object({
  equipment: Type.String(),
  metric: Type.String(),
  rule: Type.Union([
    Type.Literal('out_of_range'),
    Type.Literal('not_integer'),
    Type.Literal('required_missing'),
  ]),
  contract: Type.String({ description: 'The contract and version judged by, e.g. inverter_v1' }),
  unit: Type.String({ description: "The metric's catalogue unit" }),
  min: Nullable(Type.Number()),
  max: Nullable(Type.Number()),
  count: Type.Integer({ description: 'Offending samples (for required_missing: batches)' }),
  firstSeenAt: Stamp,
  lastSeenAt: Stamp,
  exampleValue: Nullable(Type.Number({ description: 'The latest offending value' })),
  message: Type.String(),
  updatedAt: Stamp,
});
export type DataQualityFinding = Static<typeof DataQualityFinding>;
export const DataQualityReport = Type.Object({
  nodeId: Type.String({ format: 'uuid' }),
  findings: Type.Array(DataQualityFinding),
});
export type DataQualityReport = Static<typeof DataQualityReport>;
