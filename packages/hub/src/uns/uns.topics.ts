// The unified namespace's topic layout and payload, in one place (docs/unified-namespace.md):
//   wattfleet/v1/{org}/{site}/{area}/{line}/{equipment}/{metric}
// Every level is a slug (lower-case ASCII letters, digits, single dashes; see equipment/slug.ts),
// so no level is empty or holds `+`, `#` or `/`. Metric names are catalogue names ([a-z0-9_]).
import { metricDefinition } from '@wattfleet/protocol';
import { slugify } from '../equipment/slug.ts';

export const UNS_ROOT = 'wattfleet/v1';
/** The level that stands for "not placed" (no area, no line). */
export const UNPLACED = '_';
export const SLUG_RE = /^[a-z0-9]+(-[a-z0-9]+)*$/;

export type Quality = 'good' | 'uncertain' | 'bad';

export interface UnsPayload {
  value: number;
  /** The catalogue unit ('W', 'Wh', '%', …); '' where a metric has none or is custom. */
  unit: string;
  /** Sample time, ISO 8601 UTC. */
  ts: string;
  quality: Quality;
}

export interface PathParts {
  orgSlug: string;
  siteSlug: string;
  areaSlug: string | null;
  lineSlug: string | null;
  equipmentSlug: string;
  metric: string;
}

export function unsTopic(p: PathParts): string {
  return [
    UNS_ROOT,
    p.orgSlug,
    p.siteSlug,
    p.areaSlug ?? UNPLACED,
    p.lineSlug ?? UNPLACED,
    p.equipmentSlug,
    p.metric,
  ].join('/');
}

/** The filter a tenant's reader may subscribe to (and everything under it). */
export function orgPrefix(orgSlug: string): string {
  return `${UNS_ROOT}/${orgSlug}/`;
}

/** True when `topic` is inside the UNS tree at all (nodes may never publish there). */
export function isUnsTopic(topic: string): boolean {
  return topic === UNS_ROOT || topic.startsWith(`${UNS_ROOT}/`) || topic === 'wattfleet';
}

/**
 * The equipment level: the equipment key as a slug; the node itself (key '') is `node-{node id}`.
 * When two nodes of one site have equipment with the same slug, each gets its node's first 8 hex
 * digits appended (`inverter-1-3f2a9c1b`), so no two equipment share a path.
 */
export function equipmentSlug(key: string, nodeId: string, shared: boolean): string {
  if (key === '') return `node-${nodeId}`;
  const s = slugify(key);
  return shared ? `${s}-${nodeId.slice(0, 8)}` : s;
}

/**
 * Site slugs within an org: the site name as a slug; sites whose names give the same slug keep it
 * for the oldest one and get the site id's first 8 hex digits appended for the others.
 */
export function siteSlugs(
  sites: { id: string; name: string; created_at: Date | string }[],
): Map<string, string> {
  const sorted = [...sites].sort(
    (a, b) => new Date(a.created_at).getTime() - new Date(b.created_at).getTime() || a.id.localeCompare(b.id),
  );
  const taken = new Set<string>();
  const out = new Map<string, string>();
  for (const s of sorted) {
    const base = slugify(s.name);
    const slug = taken.has(base) ? `${base}-${s.id.slice(0, 8)}` : base;
    taken.add(slug);
    out.set(s.id, slug);
  }
  return out;
}

export function unitOf(metric: string): string {
  return metricDefinition(metric)?.unit ?? '';
}

/** A contract finding of one batch, as ingest computed it (@wattfleet/devices ContractViolation). */
export interface BatchFinding {
  equipment: string;
  metric: string;
  rule: string;
  lastTs: number;
}

/**
 * Quality of the value published for (equipment, metric) at `ts`, from the data-contract findings
 * of the same batch (samples carry no quality flags of their own):
 * - bad: the published sample itself broke its contract (out of range, not an integer);
 * - uncertain: another sample of this series in the batch broke it, or the equipment's batch
 *   missed a metric its contract requires (the reading set is incomplete);
 * - good: otherwise, and for equipment without a contract.
 */
export function qualityOf(
  findings: readonly BatchFinding[],
  equipment: string,
  metric: string,
  ts: number,
): Quality {
  let quality: Quality = 'good';
  for (const f of findings) {
    if (f.equipment !== equipment) continue;
    if (f.rule === 'required_missing') {
      quality = 'uncertain';
      continue;
    }
    if (f.metric !== metric) continue;
    if (f.lastTs === ts) return 'bad';
    quality = 'uncertain';
  }
  return quality;
}
