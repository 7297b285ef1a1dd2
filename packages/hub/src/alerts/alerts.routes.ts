// Alert API: list with filters, detail with transitions, acknowledge, resolve, mute a rule for a
// site, rule settings per org and per site. Thin: typed by the TypeBox provider from
// alerts.schema.ts (params, query, body and every response); access checks and logic are in
// alerts.service.ts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { actorOf } from '../auth/authenticate.ts';
import { errors } from '../http/responses.ts';
import {
  Alert,
  AlertDetail,
  AlertList,
  AlertListQuery,
  AlertParams,
  Mute,
  MuteBody,
  NoteBody,
  OrgRuleParams,
  OrgRuleSettings,
  RuleList,
  SettingsBody,
  SiteParams,
  SiteRuleParams,
  SiteRuleSettings,
} from './alerts.schema.ts';
import type { AlertService } from './alerts.service.ts';

const tags = ['alerts'];

export const alertRoutes =
  (service: AlertService): FastifyPluginAsyncTypebox =>
  async (app) => {
    const auth = { preHandler: app.requireActor };

    app.get(
      '/alerts',
      { ...auth, schema: { tags, querystring: AlertListQuery, response: { 200: AlertList } } },
      async (request) => service.list(actorOf(request), request.query),
    );

    app.get(
      '/alerts/:id',
      {
        ...auth,
        schema: { tags, params: AlertParams, response: { 200: AlertDetail, ...errors('WF_NOT_FOUND') } },
      },
      async (request) => service.get(actorOf(request), request.params.id),
    );

    for (const action of ['acknowledge', 'resolve'] as const) {
      app.post(
        `/alerts/:id/${action}`,
        {
          ...auth,
          schema: {
            tags,
            params: AlertParams,
            body: Type.Optional(NoteBody),
            response: { 200: Alert, ...errors('WF_NOT_FOUND', 'WF_CONFLICT') },
          },
        },
        async (request) =>
          service.transition(
            actorOf(request),
            request.params.id,
            action,
            request.body?.note ?? null,
            request.ip,
          ),
      );
    }

    app.post(
      '/sites/:id/alert-mutes',
      {
        ...auth,
        schema: {
          tags,
          params: SiteParams,
          body: MuteBody,
          response: { 201: Mute, ...errors('WF_NOT_FOUND') },
        },
      },
      async (request, reply) => {
        const mute = await service.mute(actorOf(request), request.params.id, request.body, request.ip);
        reply.status(201);
        return mute;
      },
    );

    app.get('/alert-rules', { ...auth, schema: { tags, response: { 200: RuleList } } }, async () =>
      service.rules(),
    );

    app.put(
      '/orgs/:org/alert-rules/:rule',
      {
        ...auth,
        schema: {
          tags,
          params: OrgRuleParams,
          body: SettingsBody,
          response: { 200: OrgRuleSettings, ...errors('WF_FORBIDDEN', 'WF_NOT_FOUND', 'WF_VALIDATION') },
        },
      },
      async (request) =>
        service.putOrgSettings(
          actorOf(request),
          request.params.org,
          request.params.rule,
          request.body,
          request.ip,
        ),
    );

    app.put(
      '/sites/:id/alert-rules/:rule',
      {
        ...auth,
        schema: {
          tags,
          params: SiteRuleParams,
          body: SettingsBody,
          response: { 200: SiteRuleSettings, ...errors('WF_NOT_FOUND', 'WF_VALIDATION') },
        },
      },
      async (request) =>
        service.putSiteSettings(
          actorOf(request),
          request.params.id,
          request.params.rule,
          request.body,
          request.ip,
        ),
    );
  };
