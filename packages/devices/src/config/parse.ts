// Reading an agent config: YAML → migrate → defaults → strict validation, with every problem listed
// at once (path + message) so the agent's local page and the hub's editor can show them all instead
// of one per restart. The agent runs this on its own file and on CONFIG_PUSH; the hub's validator
// runs the same function, so "valid there" means "accepted here".
import { checker, type Problem } from '@wattfleet/protocol';
import { Settings } from 'typebox/system';
import Value from 'typebox/value';
import { type Document, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { migrateConfig } from './migrations.ts';
import { AgentConfig, CONFIG_VERSION } from './schema.ts';
import { insecureHubUrl } from './transport-security.ts';
import { MAX_ALIAS_EXPANSION, SAFE_YAML_OPTIONS, yamlLimitProblems } from './yaml-limits.ts';

export type ConfigResult =
  | { ok: true; config: AgentConfig; migrations: string[] }
  | { ok: false; problems: Problem[]; migrations: string[] };

// TypeBox stops after 8 errors by default; a config page must list them all. This is a
// process-wide setting, harmless in the agent, which validates nothing large enough to matter.
Settings.Set({ maxErrors: 1000 });
const check = checker(AgentConfig);

/** Extra checks a schema cannot express (cross-field rules, source types). */
export type ConfigRule = (config: AgentConfig) => Problem[];

export const builtinRules: ConfigRule[] = [
  (c) => {
    const problems: Problem[] = [];
    const seen = new Set<string>();
    c.sources.forEach((s, i) => {
      if (seen.has(s.key))
        problems.push({ path: `/sources/${i}/key`, message: `duplicate source key "${s.key}"` });
      seen.add(s.key);
    });
    if (c.tunnel && c.tunnel.remotePortMin > c.tunnel.remotePortMax) {
      problems.push({ path: '/tunnel/remotePortMin', message: 'must not be greater than remotePortMax' });
    }
    if (c.hub.transport === 'mqtt' && !c.hub.mqttUrl) {
      problems.push({ path: '/hub/mqttUrl', message: 'is required when transport is mqtt' });
    }
    for (const field of ['url', 'mqttUrl'] as const) {
      const url = c.hub[field];
      const why = url === undefined ? undefined : insecureHubUrl(url, c.hub.allowInsecure);
      if (why) problems.push({ path: `/hub/${field}`, message: why });
    }
    return problems;
  },
];

export function parseConfigText(text: string, rules: ConfigRule[] = builtinRules): ConfigResult {
  // Bounded before the parser sees it (size, depth, values, anchors, aliases): see yaml-limits.ts.
  const limited = yamlLimitProblems(text);
  if (limited.length > 0) {
    return {
      ok: false,
      migrations: [],
      problems: limited.map((p) => ({ ...p, message: `YAML: ${p.message}` })),
    };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { ...SAFE_YAML_OPTIONS, lineCounter });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      migrations: [],
      problems: doc.errors.map((e) => ({
        path: (({ line, col }) => `line ${line}:${col}`)(lineCounter.linePos(e.pos[0])),
        message: `YAML: ${e.message.split('\n')[0]}`,
      })),
    };
  }
  const keyProblems = mappingKeyProblems(doc, lineCounter);
  if (keyProblems.length > 0) return { ok: false, migrations: [], problems: keyProblems };
  let raw: unknown;
  try {
    // Aliases expand to at most MAX_ALIAS_EXPANSION nodes (no "billion laughs").
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSION });
  } catch (err) {
    // An alias to an undefined anchor, or an expansion past the bound.
    return {
      ok: false,
      migrations: [],
      problems: [{ path: '', message: `YAML: ${(err as Error).message}` }],
    };
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return {
      ok: false,
      migrations: [],
      problems: [{ path: '', message: 'the config must be a YAML mapping' }],
    };
  }
  const { doc: migrated, applied } = migrateConfig(raw as Record<string, unknown>, CONFIG_VERSION);
  const withDefaults = Value.Default(AgentConfig, structuredClone(migrated));
  const problems = tidy(check.problems(withDefaults));
  if (problems.length > 0) {
    // Rules assume a valid shape, but most still work on a broken file (e.g. each source's own
    // schema); run them anyway so one round of fixing sees everything. A rule that trips is skipped.
    const more = rules.flatMap((r) => {
      try {
        return r(withDefaults as AgentConfig);
      } catch {
        return [];
      }
    });
    const known = new Set(problems.map((p) => `${p.path} ${p.message}`));
    return {
      ok: false,
      problems: [...problems, ...more.filter((p) => !known.has(`${p.path} ${p.message}`))],
      migrations: applied,
    };
  }
  const config = withDefaults as AgentConfig;
  const ruleProblems = rules.flatMap((r) => r(config));
  if (ruleProblems.length > 0) return { ok: false, problems: ruleProblems, migrations: applied };
  return { ok: true, config, migrations: applied };
}

/**
 * Keys must be plain values (a collection as a key has no meaning in a config and costs the
 * parser dearly to stringify) and unique per mapping. Found in one pass over the document,
 * iteratively; duplicates are checked here because the parser's own check is quadratic.
 */
function mappingKeyProblems(doc: Document, lineCounter: LineCounter): Problem[] {
  const problems: Problem[] = [];
  const at = (node: Node | null | undefined) => {
    const { line, col } = lineCounter.linePos(node?.range?.[0] ?? 0);
    return `line ${line}:${col}`;
  };
  const stack: unknown[] = [doc.contents];
  while (stack.length > 0 && problems.length < 100) {
    const node = stack.pop();
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        const key = pair.key as Node | null;
        if (key !== null && !isScalar(key)) {
          problems.push({
            path: at(key),
            message: 'YAML: a key must be a plain value, not a collection or alias',
          });
          continue;
        }
        const name = String(key?.value ?? '');
        if (seen.has(name)) problems.push({ path: at(key), message: `YAML: duplicate key "${name}"` });
        seen.add(name);
        stack.push(pair.value);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) stack.push(item);
    }
  }
  return problems;
}

/**
 * Turns raw validator output into what a person can act on: one "unknown key" per offending key
 * (the validator adds a vaguer duplicate for the parent) and one "must be one of" per union.
 */
function tidy(raw: Problem[]): Problem[] {
  const out: Problem[] = [];
  const seen = new Set<string>();
  const add = (p: Problem) => {
    const k = `${p.path} ${p.message}`;
    if (!seen.has(k)) out.push(p);
    seen.add(k);
  };
  const unionPaths = new Set(raw.filter((p) => p.message.includes('anyOf')).map((p) => p.path));
  for (const p of raw) {
    if (p.message === 'schema is false') add({ path: p.path, message: 'unknown key' });
    else if (/additional properties/.test(p.message)) continue;
    else if (unionPaths.has(p.path)) {
      const allowed = allowedValues(p.path);
      add({ path: p.path, message: allowed ? `must be one of: ${allowed.join(', ')}` : p.message });
    } else add(p);
  }
  return out;
}

function schemaAt(path: string): unknown {
  // biome-ignore lint/suspicious/noExplicitAny: walking a TypeBox schema generically.
  let schema: any = AgentConfig;
  for (const part of path.split('/').filter(Boolean)) {
    if (schema?.anyOf) schema = schema.anyOf.find((s: { type?: string }) => s.type === 'object');
    schema = schema?.type === 'array' ? schema.items : schema?.properties?.[part];
  }
  return schema;
}

function allowedValues(path: string): string[] | undefined {
  const schema = schemaAt(path) as { anyOf?: { const?: unknown }[] } | undefined;
  const values = schema?.anyOf?.map((s) => s.const);
  return values?.every((v) => v !== undefined) ? values.map(String) : undefined;
}
