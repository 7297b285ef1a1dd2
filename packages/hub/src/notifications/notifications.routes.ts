// Notification channels of an org: where alerts go, from which severity, with what throttle.
// Thin: typed by the TypeBox provider from notifications.schema.ts (params, body and every
// response); access checks and target checks are in notifications.service.ts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { actorOf } from '../auth/authenticate.ts';
import { errors } from '../http/responses.ts';
import { Channel, ChannelBody, ChannelList, ChannelParams, OrgParams } from './notifications.schema.ts';
import { NotificationService } from './notifications.service.ts';

const tags = ['notifications'];

export const notificationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const service = new NotificationService(app.hub);
  const auth = { preHandler: app.requireActor };

  app.get(
    '/orgs/:org/notification-channels',
    {
      ...auth,
      schema: { tags, params: OrgParams, response: { 200: ChannelList, ...errors('WF_NOT_FOUND') } },
    },
    async (request) => service.list(actorOf(request), request.params.org),
  );

  app.post(
    '/orgs/:org/notification-channels',
    {
      ...auth,
      schema: {
        tags,
        params: OrgParams,
        body: ChannelBody,
        response: { 201: Channel, ...errors('WF_NOT_FOUND', 'WF_VALIDATION', 'WF_TARGET_REFUSED') },
      },
    },
    async (request, reply) => {
      const channel = await service.create(actorOf(request), request.params.org, request.body, request.ip);
      reply.status(201);
      return channel;
    },
  );

  app.delete(
    '/orgs/:org/notification-channels/:id',
    {
      ...auth,
      schema: {
        tags,
        params: ChannelParams,
        response: { 204: Type.Null({ description: 'Disabled; no body' }), ...errors('WF_NOT_FOUND') },
      },
    },
    async (request, reply) => {
      await service.disable(actorOf(request), request.params.org, request.params.id, request.ip);
      reply.status(204);
    },
  );
};
