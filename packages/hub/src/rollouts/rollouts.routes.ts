// Staged rollouts under /api/v1: fleet admins create a plan, read it (rings, per-node state and
// failure reasons; the portal polls it), and pause, resume or abort it. Every change is audited.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  CreateRolloutBody,
  RolloutActionParams,
  RolloutDetail,
  RolloutList,
  RolloutParams,
} from '@wattfleet/protocol';
import { actorOf } from '../auth/authenticate.ts';
import { errors } from '../http/responses.ts';
import type { RolloutService } from './rollouts.service.ts';

export function rolloutRoutes(service: RolloutService): FastifyPluginAsyncTypebox {
  return async (app) => {
    const common = { tags: ['rollouts'], security: [{ bearer: [] }] };
    app.post(
      '/rollouts',
      {
        schema: {
          ...common,
          summary:
            'Create a staged rollout of an agent tag (rings, wait, health gate, halt threshold); it starts at once',
          body: CreateRolloutBody,
          response: { 201: RolloutDetail, ...errors('WF_VALIDATION', 'WF_FORBIDDEN', 'WF_CONFLICT') },
        },
        preHandler: app.requireActor,
      },
      async (request, reply) =>
        reply.code(201).send(await service.create(actorOf(request), request.body, request.ip)),
    );
    app.get(
      '/rollouts',
      {
        schema: {
          ...common,
          summary: 'Rollouts, newest first',
          response: { 200: RolloutList, ...errors('WF_FORBIDDEN') },
        },
        preHandler: app.requireActor,
      },
      async (request) => ({ items: await service.list(actorOf(request)) }),
    );
    app.get(
      '/rollouts/:id',
      {
        schema: {
          ...common,
          summary: 'One rollout: its plan, each ring and each node (state, command, failure reason)',
          params: RolloutParams,
          response: { 200: RolloutDetail, ...errors('WF_FORBIDDEN', 'WF_NOT_FOUND') },
        },
        preHandler: app.requireActor,
      },
      async (request) => service.get(actorOf(request), request.params.id),
    );
    app.post(
      '/rollouts/:id/:action',
      {
        schema: {
          ...common,
          summary: 'Pause, resume or abort a rollout (nodes already updating finish; the rest never start)',
          params: RolloutActionParams,
          response: { 200: RolloutDetail, ...errors('WF_FORBIDDEN', 'WF_NOT_FOUND', 'WF_CONFLICT') },
        },
        preHandler: app.requireActor,
      },
      async (request) => service.act(actorOf(request), request.params.id, request.params.action, request.ip),
    );
  };
}
