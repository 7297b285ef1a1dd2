// Words for the equipment registry: a state as people read it (the word is the signal, its colour
// only repeats it), a data-quality finding as a sentence, and the site's equipment grouped by
// where it was placed (area, line), the unplaced under "Unassigned".
import type {
  Area,
  DataQualityFinding,
  EquipmentItem,
  EquipmentState,
  Line,
} from '../api/equipment-registry.ts';
import { metricName, metricValue } from './format.ts';

export const STATE_WORDS: Record<EquipmentState, string> = {
  answering: 'answering',
  silent: 'silent',
  unreachable: 'unreachable',
  waiting: 'waiting for data',
  absent: 'removed from config',
};

/** The badge class (styles.css): green answering, amber waiting/silent, red unreachable. */
export function stateClass(state: EquipmentState): string {
  if (state === 'answering') return 'state state-healthy';
  if (state === 'unreachable') return 'state state-failed';
  if (state === 'absent') return 'state state-loading';
  return 'state state-pending';
}

/**
 * How a piece of equipment is called: its label, else its key in the node's config (vendor and
 * model have their own column, so the name does not repeat them).
 */
export function equipmentName(e: Pick<EquipmentItem, 'label' | 'key'>): string {
  return e.label ?? e.key;
}

/**
 * A metric's name short enough for a table cell: the catalogue's description up to its first
 * colon ("Grid exchange", not "Grid exchange: positive import, negative export"); the whole
 * description stays in the cell's title.
 */
export function shortMetricName(metric: string): string {
  const full = metricName(metric);
  const i = full.indexOf(':');
  return i > 0 ? full.slice(0, i) : full;
}

export function sourceWords(source: string | null): string {
  return source ?? 'vendor cloud';
}

export interface EquipmentGroup {
  /** Stable key for React and tests ("unassigned", an area id, or area/line ids). */
  key: string;
  title: string;
  area?: Area;
  line?: Line;
  items: EquipmentItem[];
}

/**
 * Areas in the hub's order, each with its lines and then its equipment on no line; equipment
 * pointing at an area or line the list no longer has (removed meanwhile) counts as unassigned.
 */
export function groupEquipment(equipment: EquipmentItem[], areas: Area[]): EquipmentGroup[] {
  const groups: EquipmentGroup[] = [];
  const placed = new Set<string>();
  const take = (pred: (e: EquipmentItem) => boolean) =>
    equipment.filter((e) => {
      if (placed.has(e.id) || !pred(e)) return false;
      placed.add(e.id);
      return true;
    });
  for (const area of areas) {
    for (const line of area.lines) {
      groups.push({
        key: `${area.id}/${line.id}`,
        title: `${area.name} › ${line.name}`,
        area,
        line,
        items: take((e) => e.lineId === line.id),
      });
    }
    groups.push({
      key: area.id,
      title: area.lines.length > 0 ? `${area.name} (no line)` : area.name,
      area,
      items: take((e) => e.areaId === area.id),
    });
  }
  groups.push({ key: 'unassigned', title: 'Unassigned', items: take(() => true) });
  return groups;
}

/** The finding's problem in words, with the contract's bounds and the latest offending value. */
export function findingWords(f: DataQualityFinding): string {
  const v = (x: number) => metricValue(f.metric, x);
  const latest = f.exampleValue !== null ? `; latest ${v(f.exampleValue)}` : '';
  if (f.rule === 'out_of_range') {
    const bounds =
      f.min !== null && f.max !== null
        ? `between ${v(f.min)} and ${v(f.max)}`
        : f.min !== null
          ? `at least ${v(f.min)}`
          : f.max !== null
            ? `at most ${v(f.max)}`
            : 'within its range';
    return `Outside the plausible range: should be ${bounds}${latest}`;
  }
  if (f.rule === 'not_integer') return `Not a whole number (it is a state or a count)${latest}`;
  return 'Required by the contract but missing from readings';
}

/** What the count counts: offending readings, or batches lacking a required metric. */
export function findingCount(f: DataQualityFinding): string {
  const unit = f.rule === 'required_missing' ? 'batch' : 'reading';
  return `${f.count} ${unit}${f.count === 1 ? '' : unit === 'batch' ? 'es' : 's'}`;
}
