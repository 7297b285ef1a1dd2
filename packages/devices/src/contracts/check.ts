// The interpreter of the data contracts (contracts.ts): compiled once, then run per batch by the
// hub's ingest. Per sample it costs one map lookup and two comparisons for a metric the contract
// names; findings come out aggregated per (equipment, metric, rule), never one per sample.
import { metricDefinition } from '@wattfleet/protocol';
import {
  CONTRACTS,
  type DataContract,
  KIND_CONTRACTS,
  type MetricRule,
  REQUIRED_MIN_READINGS,
} from './contracts.ts';

export type ContractRule = 'out_of_range' | 'not_integer' | 'required_missing';

export interface CompiledContract {
  id: string;
  contract: DataContract;
  rules: ReadonlyMap<string, MetricRule>;
  required: readonly string[];
}

export interface ContractSample {
  equipment: string;
  metric: string;
  ts: number;
  value: number;
}

/** What one batch showed against one rule of one metric of one equipment. */
export interface ContractViolation {
  equipment: string;
  metric: string;
  rule: ContractRule;
  contract: string;
  count: number;
  firstTs: number;
  lastTs: number;
  /** The latest offending value (none for a missing metric). */
  example: number | null;
  message: string;
}

/** Problems of a contract definition itself (unknown metric, unit unlike the catalogue's, min > max). */
export function contractProblems(c: DataContract): string[] {
  const out: string[] = [];
  if (c.id !== `${c.equipmentClass}_v${c.version}`) out.push(`${c.id}: id must be <class>_v<version>`);
  const seen = new Set<string>();
  for (const r of c.metrics) {
    if (seen.has(r.metric)) out.push(`${c.id}: ${r.metric} listed twice`);
    seen.add(r.metric);
    const def = metricDefinition(r.metric);
    if (!def) out.push(`${c.id}: ${r.metric} is not in the metric catalogue`);
    else if (def.unit !== r.unit)
      out.push(`${c.id}: ${r.metric} unit "${r.unit}" differs from the catalogue's "${def.unit}"`);
    if (r.min !== undefined && r.max !== undefined && r.min > r.max)
      out.push(`${c.id}: ${r.metric} min > max`);
  }
  return out;
}

export function compileContract(c: DataContract): CompiledContract {
  const problems = contractProblems(c);
  if (problems.length > 0) throw new Error(`Bad data contract: ${problems.join('; ')}`);
  return {
    id: c.id,
    contract: c,
    rules: new Map(c.metrics.map((r) => [r.metric, r])),
    required: c.metrics.filter((r) => r.required).map((r) => r.metric),
  };
}

const compiled = new Map(CONTRACTS.map((c) => [c.id, compileContract(c)]));

export function contractById(id: string): CompiledContract | undefined {
  return compiled.get(id);
}

/** The contract an equipment of this kind is held to, if any. */
export function contractForKind(kind: string): CompiledContract | undefined {
  const id = KIND_CONTRACTS[kind];
  return id === undefined ? undefined : compiled.get(id);
}

const fmt = (n: number | undefined) => (n === undefined ? '…' : String(n));

/**
 * Checks one batch's samples. `contractOf(equipment)` gives the contract of each equipment key
 * (undefined: not checked). Per batch: values out of range or not whole where the rule says so,
 * and — for an equipment with at least REQUIRED_MIN_READINGS read cycles in the batch — required
 * metrics that never appear. Units are not on the wire (a sample is a catalogue metric, whose
 * unit is fixed), so a unit is checked where it is written: in the contract, against the catalogue.
 */
export function checkContracts(
  samples: readonly ContractSample[],
  contractOf: (equipment: string) => CompiledContract | undefined,
): ContractViolation[] {
  const found = new Map<string, ContractViolation>();
  const cycles = new Map<string, { contract: CompiledContract; ts: Set<number>; metrics: Set<string> }>();
  const add = (c: CompiledContract, s: ContractSample, rule: ContractRule, message: string) => {
    const key = `${s.equipment}\u0000${s.metric}\u0000${rule}`;
    const v = found.get(key);
    if (v) {
      v.count++;
      if (s.ts < v.firstTs) v.firstTs = s.ts;
      if (s.ts >= v.lastTs) {
        v.lastTs = s.ts;
        v.example = s.value;
      }
    } else {
      found.set(key, {
        equipment: s.equipment,
        metric: s.metric,
        rule,
        contract: c.id,
        count: 1,
        firstTs: s.ts,
        lastTs: s.ts,
        example: s.value,
        message,
      });
    }
  };
  let lastEquipment: string | undefined;
  let contract: CompiledContract | undefined;
  for (const s of samples) {
    if (s.equipment !== lastEquipment) {
      lastEquipment = s.equipment;
      contract = contractOf(s.equipment);
    }
    if (!contract) continue;
    if (contract.required.length > 0) {
      let c = cycles.get(s.equipment);
      if (!c) {
        c = { contract, ts: new Set(), metrics: new Set() };
        cycles.set(s.equipment, c);
      }
      c.ts.add(s.ts);
      c.metrics.add(s.metric);
    }
    const r = contract.rules.get(s.metric);
    if (!r) continue;
    if ((r.min !== undefined && s.value < r.min) || (r.max !== undefined && s.value > r.max)) {
      add(
        contract,
        s,
        'out_of_range',
        `${s.metric} outside ${fmt(r.min)}–${fmt(r.max)}${r.unit ? ` ${r.unit}` : ''} (${contract.id})`,
      );
    }
    if (r.integer && !Number.isInteger(s.value)) {
      add(contract, s, 'not_integer', `${s.metric} must be a whole number (${contract.id})`);
    }
  }
  for (const [equipment, c] of cycles) {
    if (c.ts.size < REQUIRED_MIN_READINGS) continue;
    let first = Number.POSITIVE_INFINITY;
    let last = Number.NEGATIVE_INFINITY;
    for (const t of c.ts) {
      if (t < first) first = t;
      if (t > last) last = t;
    }
    for (const metric of c.contract.required) {
      if (c.metrics.has(metric)) continue;
      found.set(`${equipment}\u0000${metric}\u0000required_missing`, {
        equipment,
        metric,
        rule: 'required_missing',
        contract: c.contract.id,
        count: 1,
        firstTs: first,
        lastTs: last,
        example: null,
        message: `${metric} required by ${c.contract.id} but missing from ${c.ts.size} readings`,
      });
    }
  }
  return [...found.values()];
}
