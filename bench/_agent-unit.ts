// How systemd runs the agent, read from deploy/agent/wattfleet-agent.service itself, so the
// benchmark (and the deploy test) start the agent with exactly the production command line and
// environment: the same bundle, the same node flags, the same Environment= lines.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const UNIT_FILE = fileURLToPath(new URL('../deploy/agent/wattfleet-agent.service', import.meta.url));
/** The checkout the unit runs from in production; replaced by this repository's root here. */
export const INSTALL_ROOT = '/opt/wattfleet/current';
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface AgentCommand {
  /** argv[0] is the node binary as written in the unit (/usr/bin/node). */
  argv: string[];
  env: Record<string, string>;
}

/** `[Service]` ExecStart= and Environment= of a unit (no quoting beyond "…" around a whole value). */
export function parseUnit(text: string): AgentCommand {
  let argv: string[] | undefined;
  const env: Record<string, string> = {};
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('[')) section = line;
    if (section !== '[Service]' || line.startsWith('#')) continue;
    const m = /^(ExecStart|Environment)=(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === 'ExecStart') argv = m[2]!.split(/\s+/).filter(Boolean);
    else {
      const value = m[2]!.replace(/^"(.*)"$/, '$1');
      const eq = value.indexOf('=');
      if (eq > 0) env[value.slice(0, eq)] = value.slice(eq + 1);
    }
  }
  if (!argv?.length) throw new Error('unit has no ExecStart= in [Service]');
  return { argv, env };
}

/** The unit's command with the install root mapped onto this checkout and node onto this node. */
export function localAgentCommand(root = REPO_ROOT, nodePath = process.execPath): AgentCommand {
  const { argv, env } = parseUnit(readFileSync(UNIT_FILE, 'utf8'));
  const at = (s: string) => s.replaceAll(INSTALL_ROOT, root.replace(/\/$/, ''));
  return {
    argv: [nodePath, ...argv.slice(1).map(at)],
    env: Object.fromEntries(Object.entries(env).map(([k, v]) => [k, at(v)])),
  };
}
