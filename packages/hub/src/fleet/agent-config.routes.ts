// Agent config editor routes: thin, typed by the TypeBox provider from agent-config.schema.ts
// (params, body and every response). Validation, access checks and the lookup are in
// agent-config.service.ts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { actorOf } from '../auth/authenticate.ts';
import { errors } from '../http/responses.ts';
import { NodeConfig, NodeParams, ValidateBody, ValidateResult } from './agent-config.schema.ts';
import { AgentConfigService } from './agent-config.service.ts';

const tags = ['fleet'];

export const agentConfigRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const service = new AgentConfigService(app.hub);
  const auth = { preHandler: app.requireActor };

  app.post(
    '/agent-config/validate',
    {
      ...auth,
      schema: {
        tags,
        summary: "Validate agent YAML with the agent's schema and rules; every problem with its line",
        body: ValidateBody,
        response: { 200: ValidateResult, ...errors('WF_FORBIDDEN') },
      },
    },
    async (request) => service.validate(actorOf(request), request.body.config),
  );

  app.get(
    '/nodes/:id/config',
    {
      ...auth,
      schema: {
        tags,
        summary: "The node's current config: its newest succeeded CONFIG_PUSH (404 when none)",
        params: NodeParams,
        response: { 200: NodeConfig, ...errors('WF_NOT_FOUND') },
      },
    },
    async (request) => service.nodeConfig(actorOf(request), request.params.id),
  );
};
