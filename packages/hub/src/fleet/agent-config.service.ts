// Agent configuration for the portal's editor: validation with the agent's own parser and rules
// (@wattfleet/devices, the same code the agent runs on CONFIG_PUSH, so "valid here" means
// "accepted there"), each problem located on a YAML line; and the config a node last accepted, from
// its newest succeeded CONFIG_PUSH command. Access checks here; SQL in agent-config.repository.ts.
import { builtinRules, parseConfigText, SAFE_YAML_OPTIONS } from '@wattfleet/devices/config';
import { sourceRules } from '@wattfleet/devices/sources';
import { type Problem, WattfleetError } from '@wattfleet/protocol';
import { isNode, LineCounter, parseDocument } from 'yaml';
import { assertNodeAccess } from '../auth/access.ts';
import { type Actor, isFleetAdmin } from '../auth/actor.ts';
import type { HubContext } from '../context.ts';
import { withTenant } from '../identity/tenant.ts';
import { newestSucceededConfigPush } from './agent-config.repository.ts';
import type { LocatedProblem, NodeConfig, ValidateResult } from './agent-config.schema.ts';

/** The agent's rules: the built-in cross-field checks and each source section against its type. */
const AGENT_RULES = [...builtinRules, sourceRules];

/** Editing configs is for those who may push them (CONFIG_PUSH roles). */
function assertConfigEditor(actor: Actor): void {
  if (isFleetAdmin(actor)) return;
  if (actor.kind === 'user' && actor.role === 'installer') return;
  throw new WattfleetError('WF_FORBIDDEN', 'Only admins and installers edit agent configs');
}

/**
 * The 1-based line of a JSON-pointer path in the YAML text: the deepest node that exists on the
 * path (a missing property is reported on its parent mapping).
 */
export function locate(text: string, problems: Problem[]): LocatedProblem[] {
  // Parsed only when a problem needs a pointer resolved: a document refused by the YAML limits
  // (its problems already carry a line) is never handed to the parser.
  const lineCounter = new LineCounter();
  let parsed: ReturnType<typeof parseDocument> | undefined;
  const parse = () => {
    parsed ??= parseDocument(text, { ...SAFE_YAML_OPTIONS, lineCounter });
    return parsed;
  };
  return problems.map((p) => {
    const yamlPos = /^line (\d+):/.exec(p.path);
    if (yamlPos) return { ...p, line: Number(yamlPos[1]) };
    const doc = parse();
    const parts = p.path
      .split('/')
      .slice(1)
      .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
      .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
    for (let n = parts.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : doc.getIn(parts.slice(0, n), true);
      if (isNode(node) && node.range) return { ...p, line: lineCounter.linePos(node.range[0]).line };
    }
    return { ...p, line: null };
  });
}

export class AgentConfigService {
  constructor(private readonly hub: HubContext) {}

  /** Every problem of a config text with its line; for a valid one, what the editor must confirm. */
  validate(actor: Actor, config: string): ValidateResult {
    assertConfigEditor(actor);
    const result = parseConfigText(config, AGENT_RULES);
    // What the editor must confirm before a push: a node with no source, or sent to another hub.
    if (result.ok)
      return {
        ok: true,
        problems: [],
        migrations: result.migrations,
        summary: { hubUrl: result.config.hub.url, sources: result.config.sources.length },
      };
    return { ok: false, problems: locate(config, result.problems), migrations: result.migrations };
  }

  /** The node's current config: its newest succeeded CONFIG_PUSH (WF_NOT_FOUND when none). */
  async nodeConfig(actor: Actor, nodeId: string): Promise<NodeConfig> {
    await assertNodeAccess(this.hub, actor, nodeId, 'read');
    // Read as the tenant: row-level security hides other sites' commands as well.
    const row = await withTenant(this.hub, actor, (trx) => newestSucceededConfigPush(trx, nodeId));
    const config = row?.args?.config;
    if (!row || typeof config !== 'string')
      throw new WattfleetError('WF_NOT_FOUND', 'No config was pushed to this node yet');
    return { nodeId, commandId: row.id, appliedAt: row.updated_at.toISOString(), config };
  }
}
