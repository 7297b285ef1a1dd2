// Manual control routes: thin, typed by the TypeBox provider from automation.schema.ts. Logic and
// access checks are in automation.service.ts. The switch routes are rate limited per user (and per
// channel: a load should not be flapped from the portal), on top of a coarse per-token limit.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { actorOf } from '../auth/authenticate.ts';
import { errors } from '../http/responses.ts';
import {
  AutomationSettings,
  AutomationSettingsBody,
  BulkResult,
  BulkSwitchBody,
  Channel,
  ChannelLimits,
  ChannelList,
  ChannelParams,
  ControlSettings,
  ControlSettingsBody,
  OrgParams,
  SiteParams,
  SwitchBody,
} from './automation.schema.ts';
import type { AutomationService } from './automation.service.ts';

const tags = ['automation'];

export interface ControlLimiter {
  /** Throws WF_RATE_LIMITED when the user or one of the channels is over its limit. */
  check(request: FastifyRequest, channelIds: readonly string[]): Promise<void>;
  /** The coarse per-credential limit the rate-limit plugin applies before authentication. */
  route: { max: number; timeWindow: number; keyGenerator: (request: FastifyRequest) => string };
}

export const automationRoutes =
  (service: AutomationService, limiter: ControlLimiter): FastifyPluginAsyncTypebox =>
  async (app) => {
    const auth = { preHandler: app.requireActor };
    const config = { rateLimit: limiter.route };

    app.get(
      '/sites/:siteId/channels',
      {
        ...auth,
        schema: { tags, params: SiteParams, response: { 200: ChannelList, ...errors('WF_NOT_FOUND') } },
      },
      async (request) => service.list(actorOf(request), request.params.siteId),
    );

    app.get(
      '/channels/:id',
      {
        ...auth,
        schema: { tags, params: ChannelParams, response: { 200: Channel, ...errors('WF_NOT_FOUND') } },
      },
      async (request) => service.get(actorOf(request), request.params.id),
    );

    app.post(
      '/channels/:id/switch',
      {
        ...auth,
        config,
        schema: {
          tags,
          params: ChannelParams,
          body: SwitchBody,
          response: {
            202: Channel,
            ...errors(
              'WF_NOT_FOUND',
              'WF_FORBIDDEN',
              'WF_CONFLICT',
              'WF_COMMAND_NOT_ALLOWED',
              'WF_RATE_LIMITED',
            ),
          },
        },
      },
      async (request, reply) => {
        await limiter.check(request, [request.params.id]);
        const channel = await service.switchOne(
          actorOf(request),
          request.params.id,
          request.body.state,
          request.ip,
        );
        reply.status(202);
        return channel;
      },
    );

    app.post(
      '/sites/:siteId/channels/switch',
      {
        ...auth,
        config,
        schema: {
          tags,
          params: SiteParams,
          body: BulkSwitchBody,
          response: { 202: BulkResult, ...errors('WF_NOT_FOUND', 'WF_FORBIDDEN', 'WF_RATE_LIMITED') },
        },
      },
      async (request, reply) => {
        await limiter.check(request, request.body.channelIds);
        const result = await service.switchMany(
          actorOf(request),
          request.params.siteId,
          request.body,
          request.ip,
        );
        reply.status(202);
        return result;
      },
    );

    app.get(
      '/orgs/:orgId/control-settings',
      {
        ...auth,
        schema: { tags, params: OrgParams, response: { 200: ControlSettings, ...errors('WF_NOT_FOUND') } },
      },
      async (request) => service.settings(actorOf(request), request.params.orgId),
    );

    app.put(
      '/orgs/:orgId/control-settings',
      {
        ...auth,
        schema: {
          tags,
          params: OrgParams,
          body: ControlSettingsBody,
          response: { 200: ControlSettings, ...errors('WF_NOT_FOUND', 'WF_FORBIDDEN') },
        },
      },
      async (request) =>
        service.setSettings(actorOf(request), request.params.orgId, request.body.ownerControl, request.ip),
    );
    app.put(
      '/channels/:id/limits',
      {
        ...auth,
        schema: {
          tags,
          params: ChannelParams,
          body: ChannelLimits,
          response: { 200: Channel, ...errors('WF_NOT_FOUND', 'WF_FORBIDDEN') },
        },
      },
      async (request) => service.setLimits(actorOf(request), request.params.id, request.body, request.ip),
    );

    app.get(
      '/sites/:siteId/automation',
      {
        ...auth,
        schema: {
          tags,
          params: SiteParams,
          response: { 200: AutomationSettings, ...errors('WF_NOT_FOUND') },
        },
      },
      async (request) => service.automation(actorOf(request), request.params.siteId),
    );

    app.put(
      '/sites/:siteId/automation',
      {
        ...auth,
        schema: {
          tags,
          params: SiteParams,
          body: AutomationSettingsBody,
          response: { 200: AutomationSettings, ...errors('WF_NOT_FOUND', 'WF_FORBIDDEN') },
        },
      },
      async (request) =>
        service.setAutomation(actorOf(request), request.params.siteId, request.body, request.ip),
    );
  };
