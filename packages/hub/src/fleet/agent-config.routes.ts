// Agent configuration for the portal's editor: validation with the agent's own parser and rules
// (the same code the agent runs on CONFIG_PUSH, so "valid here" means "accepted there"), each
// problem located on a YAML line; and the config a node last accepted, from its newest succeeded
// CONFIG_PUSH command.

import { builtinRules, CONFIG_LIMITS, parseConfigText, SAFE_YAML_OPTIONS } from '@wattfleet/edge/config';
import { sourceRules } from '@wattfleet/edge/config-rules';
import { type Problem, WattfleetError } from '@wattfleet/protocol';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { isNode, LineCounter, parseDocument } from 'yaml';
import { assertNodeAccess } from '../auth/access.ts';
import { type Actor, isFleetAdmin } from '../auth/actor.ts';
import { actorOf } from '../auth/authenticate.ts';
import { withTenant } from '../identity/tenant.ts';

const ValidateBody = Type.Object(
  { config: Type.String({ maxLength: CONFIG_LIMITS.maxChars }) },
  { additionalProperties: false },
);

export interface LocatedProblem extends Problem {
  line: number | null;
}

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

export async function agentConfigRoutes(app: FastifyInstance): Promise<void> {
  const hub = app.hub;
  app.post(
    '/agent-config/validate',
    {
      schema: {
        tags: ['fleet'],
        security: [{ bearer: [] }],
        summary: "Validate agent YAML with the agent's schema and rules; every problem with its line",
        body: ValidateBody,
      },
      preHandler: app.requireActor,
    },
    async (request) => {
      assertConfigEditor(actorOf(request));
      const { config } = request.body as { config: string };
      const result = parseConfigText(config, [...builtinRules, sourceRules]);
      // What the editor must confirm before a push: a node with no source, or sent to another hub.
      if (result.ok)
        return {
          ok: true,
          problems: [],
          migrations: result.migrations,
          summary: { hubUrl: result.config.hub.url, sources: result.config.sources.length },
        };
      return { ok: false, problems: locate(config, result.problems), migrations: result.migrations };
    },
  );

  app.get(
    '/nodes/:id/config',
    {
      schema: {
        tags: ['fleet'],
        security: [{ bearer: [] }],
        summary: "The node's current config: its newest succeeded CONFIG_PUSH (404 when none)",
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
      },
      preHandler: app.requireActor,
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const actor = actorOf(request);
      await assertNodeAccess(hub, actor, id, 'read');
      // Read as the tenant: row-level security hides other sites' commands as well.
      const row = await withTenant(hub, actor, (trx) =>
        trx
          .selectFrom('commands')
          .select(['id', 'args', 'updated_at'])
          .where('node_id', '=', id)
          .where('type', '=', 'CONFIG_PUSH')
          .where('state', '=', 'succeeded')
          .orderBy('updated_at', 'desc')
          .limit(1)
          .executeTakeFirst(),
      );
      const config = row?.args?.config;
      if (!row || typeof config !== 'string')
        throw new WattfleetError('WF_NOT_FOUND', 'No config was pushed to this node yet');
      return { nodeId: id, commandId: row.id, appliedAt: row.updated_at.toISOString(), config };
    },
  );
}
