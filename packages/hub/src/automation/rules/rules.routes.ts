// Rule routes: thin, typed by the TypeBox provider from rules.schema.ts. Access checks and logic
// are in rules.service.ts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { actorOf } from '../../auth/authenticate.ts';
import { errors } from '../../http/responses.ts';
import {
  DryRunBody,
  DryRunResult,
  FiringList,
  FiringListQuery,
  NoContent,
  Rule,
  RuleBody,
  RuleList,
  RuleParams,
  SiteParams,
} from './rules.schema.ts';
import type { RuleService } from './rules.service.ts';

const tags = ['automation'];
const WRITE_ERRORS = errors('WF_VALIDATION', 'WF_NOT_FOUND', 'WF_FORBIDDEN', 'WF_CONFLICT');

export const ruleRoutes =
  (service: RuleService): FastifyPluginAsyncTypebox =>
  async (app) => {
    const auth = { preHandler: app.requireActor };

    app.get(
      '/sites/:siteId/rules',
      {
        ...auth,
        schema: { tags, params: SiteParams, response: { 200: RuleList, ...errors('WF_NOT_FOUND') } },
      },
      async (request) => service.list(actorOf(request), request.params.siteId),
    );

    app.post(
      '/sites/:siteId/rules',
      {
        ...auth,
        schema: {
          tags,
          summary: 'Create a rule (validated, refused when it would loop with another rule)',
          params: SiteParams,
          body: RuleBody,
          response: { 201: Rule, ...WRITE_ERRORS },
        },
      },
      async (request, reply) => {
        const rule = await service.create(actorOf(request), request.params.siteId, request.body, request.ip);
        reply.status(201);
        return rule;
      },
    );

    app.post(
      '/sites/:siteId/rules/dry-run',
      {
        ...auth,
        schema: {
          tags,
          summary: "Replay an unsaved rule over the site's last 7 days of stored telemetry",
          params: SiteParams,
          body: DryRunBody,
          response: { 200: DryRunResult, ...errors('WF_VALIDATION', 'WF_NOT_FOUND', 'WF_FORBIDDEN') },
        },
      },
      async (request) => service.dryRun(actorOf(request), request.params.siteId, request.body, request.ip),
    );

    app.get(
      '/rules/:id',
      { ...auth, schema: { tags, params: RuleParams, response: { 200: Rule, ...errors('WF_NOT_FOUND') } } },
      async (request) => service.get(actorOf(request), request.params.id),
    );

    app.put(
      '/rules/:id',
      {
        ...auth,
        schema: {
          tags,
          summary: 'Edit a rule (a new version; lifts a run-time suspension)',
          params: RuleParams,
          body: RuleBody,
          response: { 200: Rule, ...WRITE_ERRORS },
        },
      },
      async (request) => service.update(actorOf(request), request.params.id, request.body, request.ip),
    );

    app.delete(
      '/rules/:id',
      {
        ...auth,
        schema: {
          tags,
          params: RuleParams,
          response: { 204: NoContent, ...errors('WF_NOT_FOUND', 'WF_FORBIDDEN') },
        },
      },
      async (request, reply) => {
        await service.remove(actorOf(request), request.params.id, request.ip);
        reply.status(204);
      },
    );

    app.post(
      '/rules/:id/dry-run',
      {
        ...auth,
        schema: {
          tags,
          summary: "Replay a saved rule over the site's last 7 days of stored telemetry",
          params: RuleParams,
          response: { 200: DryRunResult, ...errors('WF_VALIDATION', 'WF_NOT_FOUND', 'WF_FORBIDDEN') },
        },
      },
      async (request) => service.dryRunSaved(actorOf(request), request.params.id, request.ip),
    );

    app.get(
      '/rules/:id/firings',
      {
        ...auth,
        schema: {
          tags,
          summary: 'The run log: when the rule fired, why, and what each action did',
          params: RuleParams,
          querystring: FiringListQuery,
          response: { 200: FiringList, ...errors('WF_NOT_FOUND') },
        },
      },
      async (request) => service.firings(actorOf(request), request.params.id, request.query.limit),
    );
  };
