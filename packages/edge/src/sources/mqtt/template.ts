// MQTT device templates: which topics a device publishes, where in each message a metric or the
// relay state sits, and what to publish to switch it or ask for its status, as YAML data. One
// interpreter (source.ts) runs them all, so a new firmware family is a new file, not new code.
//
// Placeholders in topics, paths and payloads: {prefix} (the device's topic prefix from the
// config), {channel} (one relay channel; a topic with it is subscribed once per channel),
// {client} (the agent's own reply topic for this source), {id} (a request number), {on} (the
// template's word for the state asked: `switch.on` / `switch.off`).

import { join } from 'node:path';
import { EquipmentKindSchema } from '@wattfleet/devices/sources';
import { checker, isAcceptedMetric, metricDefinition, type Problem } from '@wattfleet/protocol';
import Type, { type Static } from 'typebox';
import { parseYamlTemplate, readYamlTemplate } from '../yaml-template.ts';

const strict = { additionalProperties: false } as const;
const Topic = Type.String({ minLength: 1, maxLength: 256, pattern: '^[^#+]*$' });
/** A dot path into a JSON message (`aenergy.total`, `ENERGY.Power`); empty: the whole payload. */
const Path = Type.String({ maxLength: 200 });
const Word = Type.Union([Type.String({ maxLength: 32 }), Type.Boolean(), Type.Number()]);

export const MqttMetricEntry = Type.Object(
  {
    path: Path,
    metric: Type.String({ minLength: 1, maxLength: 63 }),
    /** Multiplier to the metric's catalogue unit (1000 for a kWh counter into Wh). */
    scale: Type.Optional(Type.Number()),
  },
  strict,
);

export const MqttSubscription = Type.Object(
  {
    topic: Topic,
    format: Type.Enum(['json', 'text']),
    /** Where the values sit inside a JSON message (a prefix for every path below). */
    root: Type.Optional(Path),
    /** The relay state: the value at `path` (or the text payload) compared with on / off. */
    state: Type.Optional(Type.Object({ path: Type.Optional(Path), on: Word, off: Word }, strict)),
    metrics: Type.Optional(Type.Array(MqttMetricEntry, { maxItems: 32 })),
    /** Metrics of a topic without {channel} belong to this channel (Tasmota's one meter). */
    description: Type.Optional(Type.String({ maxLength: 200 })),
  },
  strict,
);
export type MqttSubscription = Static<typeof MqttSubscription>;

const Publish = Type.Object({ topic: Topic, payload: Type.String({ maxLength: 2000 }) }, strict);

export const MqttDeviceTemplate = Type.Object(
  {
    template: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,63}$' }),
    description: Type.String({ minLength: 1, maxLength: 300 }),
    /** Where the vendor documents these topics (a template is checked against it). */
    documentation: Type.String({ pattern: '^https://', maxLength: 300 }),
    kind: Type.Optional(EquipmentKindSchema),
    vendor: Type.Optional(Type.String({ maxLength: 64 })),
    /** Relay channels when the config names none. */
    channels: Type.Array(Type.String({ pattern: '^[A-Za-z0-9_-]{0,32}$' }), { minItems: 1, maxItems: 16 }),
    /** The device's retained availability (its MQTT last will). */
    availability: Type.Optional(
      Type.Object({ topic: Topic, online: Type.String(), offline: Type.String() }, strict),
    ),
    subscriptions: Type.Array(MqttSubscription, { minItems: 1, maxItems: 16 }),
    /** Switching one channel; the device's own status message confirms it. */
    switch: Type.Object({ ...Publish.properties, on: Type.String(), off: Type.String() }, strict),
    /** Asking for the current status (at connect, and before reading a channel's state). */
    refresh: Type.Array(Publish, { maxItems: 8 }),
  },
  strict,
);
export type MqttDeviceTemplate = Static<typeof MqttDeviceTemplate>;

const checkTemplate = checker(MqttDeviceTemplate);

function meaningProblems(t: MqttDeviceTemplate): Problem[] {
  const problems: Problem[] = [];
  if (!t.subscriptions.some((s) => s.state))
    problems.push({ path: '/subscriptions', message: 'no subscription carries the relay state' });
  t.subscriptions.forEach((s, i) => {
    if (!s.state && !s.metrics?.length)
      problems.push({ path: `/subscriptions/${i}`, message: 'a subscription needs a state or metrics' });
    if (s.format === 'text' && (s.metrics?.length || s.root || s.state?.path))
      problems.push({
        path: `/subscriptions/${i}`,
        message: 'a text payload is one value: only a state without path',
      });
    s.metrics?.forEach((m, j) => {
      const at = `/subscriptions/${i}/metrics/${j}`;
      if (!isAcceptedMetric(m.metric))
        problems.push({
          path: `${at}/metric`,
          message: `"${m.metric}" is not a catalogue metric nor x_ custom`,
        });
      else if (m.metric === 'relay_state')
        problems.push({
          path: `${at}/metric`,
          message: 'relay_state comes from `state`, not a metric entry',
        });
      if (m.scale === 0) problems.push({ path: `${at}/scale`, message: 'a scale of 0 hides every value' });
      if (!metricDefinition(m.metric) && m.scale !== undefined && !m.metric.startsWith('x_'))
        problems.push({ path: `${at}/scale`, message: 'unknown unit to scale into' });
    });
  });
  if (!t.switch.payload.includes('{on}') && !t.switch.topic.includes('{on}'))
    problems.push({ path: '/switch/payload', message: 'the switch command must carry {on}' });
  return problems;
}

export function mqttTemplateProblems(doc: unknown): Problem[] {
  const shape = checkTemplate.problems(doc);
  return shape.length > 0 ? shape : meaningProblems(doc as MqttDeviceTemplate);
}

/** Parses and checks YAML text; throws WF_VALIDATION with every problem. */
export function parseMqttTemplate(text: string, expectedName?: string): MqttDeviceTemplate {
  return parseYamlTemplate<MqttDeviceTemplate>(
    text,
    'MQTT device template',
    mqttTemplateProblems,
    expectedName,
  );
}

export const mqttTemplatesDir = (templatesDir: string): string => join(templatesDir, 'mqtt');

export async function loadMqttTemplate(templatesDir: string, name: string): Promise<MqttDeviceTemplate> {
  return parseMqttTemplate(
    await readYamlTemplate(mqttTemplatesDir(templatesDir), name, 'MQTT device template'),
    name,
  );
}

/** Fills the placeholders of a topic, path or payload. */
export function fill(text: string, values: Record<string, string | number>): string {
  return text.replace(/\{(prefix|channel|client|id|on)\}/g, (all, k: string) =>
    values[k] === undefined ? all : String(values[k]),
  );
}

/** The value at a dot path (a key may itself contain ':' as Shelly's `switch:0` does). */
export function at(value: unknown, path: string): unknown {
  if (path === '') return value;
  let cur: unknown = value;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, part)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}
