// Templates as data (Modbus, OPC UA, MQTT devices): the one way a template file is read and
// checked, so every kind refuses the same things (oversized or alias-bombed YAML, duplicate keys,
// a file whose `template:` name is not its own) and lists every problem at once.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CONFIG_LIMITS, SAFE_YAML_OPTIONS, yamlLimitProblems } from '@wattfleet/devices/config';
import { type Problem, WattfleetError } from '@wattfleet/protocol';
import { LineCounter, parseDocument } from 'yaml';

const TEMPLATE_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;

/**
 * Parses YAML text and checks it with `problemsOf`; throws WF_VALIDATION naming `kind`
 * ("OPC UA template") with every problem, or returns the checked value.
 */
export function parseYamlTemplate<T>(
  text: string,
  kind: string,
  problemsOf: (doc: unknown) => Problem[],
  expectedName?: string,
): T {
  const what = `invalid ${kind}${expectedName ? ` "${expectedName}"` : ''}`;
  const limits = yamlLimitProblems(text, CONFIG_LIMITS);
  if (limits.length > 0) throw new WattfleetError('WF_VALIDATION', what, limits);
  const doc = parseDocument(text, { ...SAFE_YAML_OPTIONS, uniqueKeys: true, lineCounter: new LineCounter() });
  const problems: Problem[] = doc.errors.map((e) => ({
    path: '',
    message: `YAML line ${e.linePos?.[0].line ?? '?'}: ${e.message.split('\n')[0]}`,
  }));
  const value: unknown = problems.length === 0 ? doc.toJS({ maxAliasCount: 100 }) : undefined;
  if (problems.length === 0) problems.push(...problemsOf(value));
  const name = (value as { template?: unknown } | undefined)?.template;
  if (expectedName !== undefined && problems.length === 0 && name !== expectedName)
    problems.push({
      path: '/template',
      message: `template "${String(name)}" must live in ${String(name)}.yaml`,
    });
  if (problems.length > 0) throw new WattfleetError('WF_VALIDATION', what, problems);
  return value as T;
}

/** Reads `<dir>/<name>.yaml`; a bad name is WF_VALIDATION, a missing file WF_NOT_FOUND. */
export async function readYamlTemplate(dir: string, name: string, kind: string): Promise<string> {
  if (!TEMPLATE_NAME.test(name)) throw new WattfleetError('WF_VALIDATION', `bad template name "${name}"`);
  return readFile(join(dir, `${name}.yaml`), 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new WattfleetError('WF_NOT_FOUND', `no ${kind} "${name}" in ${dir}`);
    throw err;
  });
}
