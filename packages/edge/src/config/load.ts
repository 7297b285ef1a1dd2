// Reading the config: YAML → migrate → defaults → strict validation, with every problem listed at
// once (path + message) so the local page can show them all instead of one per restart. The parser,
// schema, rules and YAML limits live in @wattfleet/devices (the hub's validator runs the same
// code); reading the file is the agent's own.
import { readFileSync } from 'node:fs';
import { type ConfigResult, type ConfigRule, parseConfigText } from '@wattfleet/devices/config';

export {
  builtinRules,
  CONFIG_LIMITS,
  type ConfigResult,
  type ConfigRule,
  parseConfigText,
  SAFE_YAML_OPTIONS,
  yamlLimitProblems,
} from '@wattfleet/devices/config';

export function loadConfigFile(path: string, rules?: ConfigRule[]): ConfigResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return {
      ok: false,
      migrations: [],
      problems: [{ path, message: `cannot read: ${(err as Error).message}` }],
    };
  }
  return parseConfigText(text, rules);
}
