// Scene routes: thin, typed by the TypeBox provider from scenes.schema.ts. Access checks and logic
// are in scenes.service.ts. Activation shares the control routes' per-credential rate limit.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { actorOf } from '../../auth/authenticate.ts';
import { errors } from '../../http/responses.ts';
import type { ControlLimiter } from '../automation.routes.ts';
import {
  Activation,
  ActivationList,
  ActivationListQuery,
  ActivationParams,
  NoContent,
  Scene,
  SceneBody,
  SceneList,
  SceneParams,
  SiteParams,
} from './scenes.schema.ts';
import type { SceneService } from './scenes.service.ts';

const tags = ['automation'];

export const sceneRoutes =
  (service: SceneService, limiter: Pick<ControlLimiter, 'route'>): FastifyPluginAsyncTypebox =>
  async (app) => {
    const auth = { preHandler: app.requireActor };

    app.get(
      '/sites/:siteId/scenes',
      {
        ...auth,
        schema: { tags, params: SiteParams, response: { 200: SceneList, ...errors('WF_NOT_FOUND') } },
      },
      async (request) => service.list(actorOf(request), request.params.siteId),
    );

    app.post(
      '/sites/:siteId/scenes',
      {
        ...auth,
        schema: {
          tags,
          params: SiteParams,
          body: SceneBody,
          response: { 201: Scene, ...errors('WF_NOT_FOUND', 'WF_FORBIDDEN', 'WF_CONFLICT') },
        },
      },
      async (request, reply) => {
        const scene = await service.create(actorOf(request), request.params.siteId, request.body, request.ip);
        reply.status(201);
        return scene;
      },
    );

    app.get(
      '/scenes/:id',
      { ...auth, schema: { tags, params: SceneParams, response: { 200: Scene, ...errors('WF_NOT_FOUND') } } },
      async (request) => service.get(actorOf(request), request.params.id),
    );

    app.put(
      '/scenes/:id',
      {
        ...auth,
        schema: {
          tags,
          params: SceneParams,
          body: SceneBody,
          response: { 200: Scene, ...errors('WF_NOT_FOUND', 'WF_FORBIDDEN', 'WF_CONFLICT') },
        },
      },
      async (request) => service.update(actorOf(request), request.params.id, request.body, request.ip),
    );

    app.delete(
      '/scenes/:id',
      {
        ...auth,
        schema: {
          tags,
          params: SceneParams,
          response: { 204: NoContent, ...errors('WF_NOT_FOUND', 'WF_FORBIDDEN') },
        },
      },
      async (request, reply) => {
        await service.remove(actorOf(request), request.params.id, request.ip);
        reply.status(204);
      },
    );

    app.post(
      '/scenes/:id/activate',
      {
        ...auth,
        config: { rateLimit: limiter.route },
        schema: {
          tags,
          params: SceneParams,
          response: { 202: Activation, ...errors('WF_NOT_FOUND', 'WF_FORBIDDEN', 'WF_RATE_LIMITED') },
        },
      },
      async (request, reply) => {
        const activation = await service.activate(actorOf(request), request.params.id, request.ip);
        reply.status(202);
        return activation;
      },
    );

    app.get(
      '/scenes/:id/activations',
      {
        ...auth,
        schema: {
          tags,
          params: SceneParams,
          querystring: ActivationListQuery,
          response: { 200: ActivationList, ...errors('WF_NOT_FOUND') },
        },
      },
      async (request) => service.activations(actorOf(request), request.params.id, request.query.limit),
    );

    app.get(
      '/scene-activations/:id',
      {
        ...auth,
        schema: { tags, params: ActivationParams, response: { 200: Activation, ...errors('WF_NOT_FOUND') } },
      },
      async (request) => service.activation(actorOf(request), request.params.id),
    );
  };
