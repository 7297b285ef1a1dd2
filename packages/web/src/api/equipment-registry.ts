// The equipment registry and asset hierarchy of a site (hub src/equipment/equipment.schema.ts):
// what each node's agent reported it reads, whether it answers, where an installer placed it
// (areas and lines), the commissioning check, and a node's data-quality findings (hub
// src/analytics/analytics.schema.ts, DataQualityReport).
import { request } from './http.ts';

/**
 * answering: a recent reading; silent: answered before, not lately; unreachable: the node says it
 * does not answer; waiting: registered, nothing read yet; absent: no longer in the node's config.
 */
export type EquipmentState = 'answering' | 'silent' | 'unreachable' | 'waiting' | 'absent';

export interface EquipmentItem {
  id: string;
  nodeId: string;
  nodeName: string;
  key: string;
  kind: string;
  label: string | null;
  vendor: string | null;
  model: string | null;
  serial: string | null;
  firmware: string | null;
  /** The agent's source type (modbus-tcp, opcua, …); null: a vendor cloud. */
  source: string | null;
  metrics: string[];
  present: boolean;
  registeredAt: string | null;
  areaId: string | null;
  lineId: string | null;
  state: EquipmentState;
  /** Why it is in that state, in words (the hub's). */
  reason: string;
  lastReading: { ts: string; values: { metric: string; value: number }[] } | null;
}

export interface Line {
  id: string;
  areaId: string;
  name: string;
  slug: string;
}

export interface Area {
  id: string;
  name: string;
  slug: string;
  lines: Line[];
}

export interface SiteEquipment {
  siteId: string;
  checkedAt: string;
  equipment: EquipmentItem[];
  areas: Area[];
}

export interface Commissioning {
  siteId: string;
  checkedAt: string;
  /** Every expected equipment answers (and there is at least one). */
  ok: boolean;
  expected: number;
  answering: number;
  problems: { equipmentId: string; nodeName: string; key: string; state: EquipmentState; reason: string }[];
  /** Nodes that have not reported any equipment yet (an old agent, or never started). */
  nodesWithoutInventory: { nodeId: string; nodeName: string }[];
}

export type DataQualityRule = 'out_of_range' | 'not_integer' | 'required_missing';

export interface DataQualityFinding {
  equipment: string;
  metric: string;
  rule: DataQualityRule;
  /** The contract and version judged by, e.g. inverter_v1. */
  contract: string;
  unit: string;
  min: number | null;
  max: number | null;
  /** Offending samples (for required_missing: batches). */
  count: number;
  firstSeenAt: string;
  lastSeenAt: string;
  exampleValue: number | null;
  message: string;
  updatedAt: string;
}

export interface DataQualityReport {
  nodeId: string;
  findings: DataQualityFinding[];
}

const id = encodeURIComponent;

export const registryApi = {
  list: (siteId: string, signal?: AbortSignal) =>
    request<SiteEquipment>(`/sites/${id(siteId)}/equipment`, signal ? { signal } : {}),
  commissioning: (siteId: string, signal?: AbortSignal) =>
    request<Commissioning>(`/sites/${id(siteId)}/commissioning`, signal ? { signal } : {}),
  createArea: (siteId: string, name: string) =>
    request<Area>(`/sites/${id(siteId)}/areas`, { body: { name } }),
  createLine: (areaId: string, name: string) =>
    request<Line>(`/areas/${id(areaId)}/lines`, { body: { name } }),
  removeArea: (areaId: string) => request<void>(`/areas/${id(areaId)}`, { method: 'DELETE' }),
  removeLine: (lineId: string) => request<void>(`/lines/${id(lineId)}`, { method: 'DELETE' }),
  /** null areaId takes it off its area; a lineId brings its area along. */
  place: (equipmentId: string, placement: { areaId?: string | null; lineId?: string | null }) =>
    request<EquipmentItem>(`/equipment/${id(equipmentId)}`, { method: 'PATCH', body: placement }),
  dataQuality: (nodeId: string, signal?: AbortSignal) =>
    request<DataQualityReport>(`/nodes/${id(nodeId)}/data-quality`, signal ? { signal } : {}),
};
