// OPC UA templates: which server nodes are which metrics, as YAML data (like the Modbus register
// maps). The server's own unit is stated per node and converted to the catalogue's (kW → W,
// kWh → Wh), so a template is copied from the server's documentation, not recomputed by hand.
// Checked by schema, then by meaning, every problem listed at once; the text is bounded before
// it is parsed (the config's YAML limits).

import { join } from 'node:path';
import { EquipmentKindSchema } from '@wattfleet/devices/sources';
import { checker, isAcceptedMetric, metricDefinition, type Problem } from '@wattfleet/protocol';
import Type, { type Static } from 'typebox';
import { parseYamlTemplate, readYamlTemplate } from '../yaml-template.ts';

const strict = { additionalProperties: false } as const;

/** The OPC UA string form: ns=<index>;i=|s=|g=|b=<id>, or nsu=<namespace URI>;… */
const NodeIdText = Type.String({ pattern: '^(ns=[0-9]{1,5};|nsu=[^;]{1,200};)?[isgb]=.{1,400}$' });

/**
 * An OPC UA RelativePath (Part 4, A.2) from the Objects folder, e.g. `/1:Meter/1:Power`: each
 * step `/<ns>:<BrowseName>` (`.` for a component). DIAGNOSTICS' browse lists each variable's path
 * in exactly this form. Resolved to a node id at every new session (a server may renumber).
 */
const BrowsePathText = Type.String({ pattern: '^([/.][0-9]{1,5}:[^/.]{1,200})+$', maxLength: 1000 });

export const OpcUaNodeEntry = Type.Object(
  {
    /** Either the node id or the browse path names the node. */
    nodeId: Type.Optional(NodeIdText),
    browsePath: Type.Optional(BrowsePathText),
    metric: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
    /** The unit the server publishes; converted to the metric's catalogue unit (k/M/m prefixes). */
    unit: Type.Optional(Type.String({ minLength: 1, maxLength: 16 })),
    /** Multiplier applied before the unit conversion (e.g. 0.1 for tenths). */
    scale: Type.Optional(Type.Number()),
    /** invert: the server counts the other way round than our sign conventions. */
    sign: Type.Optional(Type.Enum(['normal', 'invert'])),
    /** Fills the equipment's identity (read once per session) instead of a metric. */
    info: Type.Optional(Type.Enum(['vendor', 'model', 'serial', 'firmware'])),
    /** Absolute deadband in the node's unit: smaller changes are not sent by the server. */
    deadband: Type.Optional(Type.Number({ minimum: 0 })),
    samplingIntervalMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 3_600_000 })),
    description: Type.Optional(Type.String({ maxLength: 200 })),
  },
  strict,
);
export type OpcUaNodeEntry = Static<typeof OpcUaNodeEntry>;

export const OpcUaTemplate = Type.Object(
  {
    template: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,63}$' }),
    description: Type.String({ minLength: 1, maxLength: 300 }),
    kind: Type.Optional(EquipmentKindSchema),
    vendor: Type.Optional(Type.String({ maxLength: 64 })),
    model: Type.Optional(Type.String({ maxLength: 64 })),
    nodes: Type.Array(OpcUaNodeEntry, { minItems: 1, maxItems: 1000 }),
  },
  strict,
);
export type OpcUaTemplate = Static<typeof OpcUaTemplate>;

const checkTemplate = checker(OpcUaTemplate);

const PREFIXES: Readonly<Record<string, number>> = { k: 1e3, M: 1e6, m: 1e-3 };

/** Factor from `unit` to `target` (same unit, or a k/M/m prefix of it); undefined if neither. */
export function unitFactor(unit: string, target: string): number | undefined {
  if (unit === target) return 1;
  const prefix = unit.slice(0, 1);
  return unit.slice(1) === target ? PREFIXES[prefix] : undefined;
}

/** How a template node is named in errors and DIAGNOSTICS: its node id or its browse path. */
export const nodeLabel = (entry: OpcUaNodeEntry): string => entry.nodeId ?? `browse path ${entry.browsePath}`;

/** Multiplier turning a node's raw value into the metric's value (scale, unit, sign). */
export function nodeFactor(entry: OpcUaNodeEntry): number {
  const def = entry.metric ? metricDefinition(entry.metric) : undefined;
  const unit = def && entry.unit !== undefined ? (unitFactor(entry.unit, def.unit) ?? 1) : 1;
  return (entry.scale ?? 1) * unit * (entry.sign === 'invert' ? -1 : 1);
}

function meaningProblems(t: OpcUaTemplate): Problem[] {
  const problems: Problem[] = [];
  const seen = new Map<string, number>();
  t.nodes.forEach((n, i) => {
    const at = `/nodes/${i}`;
    if ((n.nodeId === undefined) === (n.browsePath === undefined))
      problems.push({ path: at, message: 'a node needs exactly one of nodeId or browsePath' });
    const label = nodeLabel(n);
    const before = seen.get(label);
    if (before !== undefined)
      problems.push({
        path: `${at}/${n.nodeId ? 'nodeId' : 'browsePath'}`,
        message: `${label} is already mapped by /nodes/${before}`,
      });
    seen.set(label, i);
    if (!n.metric && !n.info) problems.push({ path: at, message: 'a node needs a metric or info' });
    if (n.metric && n.info)
      problems.push({ path: at, message: 'a node is either a metric or info, not both' });
    if (n.info && (n.unit || n.scale !== undefined || n.deadband !== undefined))
      problems.push({ path: at, message: 'an info node carries no unit, scale or deadband' });
    if (n.scale === 0) problems.push({ path: `${at}/scale`, message: 'a scale of 0 hides every value' });
    if (n.metric === undefined) return;
    if (!isAcceptedMetric(n.metric)) {
      problems.push({
        path: `${at}/metric`,
        message: `"${n.metric}" is not a catalogue metric nor x_ custom`,
      });
      return;
    }
    const def = metricDefinition(n.metric);
    if (def && n.unit !== undefined && unitFactor(n.unit, def.unit) === undefined)
      problems.push({
        path: `${at}/unit`,
        message: `${n.metric} is in "${def.unit}"; "${n.unit}" does not convert to it (use ${def.unit}, k${def.unit}, M${def.unit} or m${def.unit})`,
      });
  });
  const metrics = new Map<string, number>();
  t.nodes.forEach((n, i) => {
    if (!n.metric) return;
    const before = metrics.get(n.metric);
    if (before !== undefined)
      problems.push({
        path: `/nodes/${i}/metric`,
        message: `${n.metric} is already given by /nodes/${before}`,
      });
    metrics.set(n.metric, i);
  });
  return problems;
}

/** Every problem in a parsed template document (schema first; meaning once the shape is right). */
export function opcUaTemplateProblems(doc: unknown): Problem[] {
  const shape = checkTemplate.problems(doc);
  return shape.length > 0 ? shape : meaningProblems(doc as OpcUaTemplate);
}

/** Parses and checks YAML text; throws WF_VALIDATION with every problem. */
export function parseOpcUaTemplate(text: string, expectedName?: string): OpcUaTemplate {
  return parseYamlTemplate<OpcUaTemplate>(text, 'OPC UA template', opcUaTemplateProblems, expectedName);
}

export const opcUaTemplatesDir = (templatesDir: string): string => join(templatesDir, 'opcua');

export async function loadOpcUaTemplate(templatesDir: string, name: string): Promise<OpcUaTemplate> {
  return parseOpcUaTemplate(
    await readYamlTemplate(opcUaTemplatesDir(templatesDir), name, 'OPC UA template'),
    name,
  );
}
