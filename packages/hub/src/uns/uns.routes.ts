// Unified namespace routes: thin, typed by the TypeBox provider from uns.schema.ts; access checks
// and logic are in uns.service.ts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { actorOf } from '../auth/authenticate.ts';
import { errors } from '../http/responses.ts';
import {
  CreateCredentialBody,
  CredentialParams,
  OrgIdParams,
  UnsCredentialCreated,
  UnsCredentialList,
  UnsSettings,
  UnsSettingsBody,
} from './uns.schema.ts';
import type { UnsService } from './uns.service.ts';

const tags = ['unified namespace'];

export const unsRoutes =
  (service: UnsService): FastifyPluginAsyncTypebox =>
  async (app) => {
    const auth = { preHandler: app.requireActor };

    app.get(
      '/orgs/:id/uns',
      {
        ...auth,
        schema: {
          tags,
          params: OrgIdParams,
          response: { 200: UnsSettings, ...errors('WF_NOT_FOUND', 'WF_FORBIDDEN') },
        },
      },
      async (request) => service.settings(actorOf(request), request.params.id, request.ip),
    );

    app.put(
      '/orgs/:id/uns',
      {
        ...auth,
        schema: {
          tags,
          params: OrgIdParams,
          body: UnsSettingsBody,
          response: { 200: UnsSettings, ...errors('WF_NOT_FOUND', 'WF_FORBIDDEN', 'WF_CONFLICT') },
        },
      },
      async (request) => service.setSettings(actorOf(request), request.params.id, request.body, request.ip),
    );

    app.get(
      '/orgs/:id/uns/credentials',
      {
        ...auth,
        schema: {
          tags,
          params: OrgIdParams,
          response: { 200: UnsCredentialList, ...errors('WF_NOT_FOUND', 'WF_FORBIDDEN') },
        },
      },
      async (request) => ({
        credentials: await service.credentials(actorOf(request), request.params.id, request.ip),
      }),
    );

    app.post(
      '/orgs/:id/uns/credentials',
      {
        ...auth,
        schema: {
          tags,
          params: OrgIdParams,
          body: CreateCredentialBody,
          response: { 201: UnsCredentialCreated, ...errors('WF_NOT_FOUND', 'WF_FORBIDDEN') },
        },
      },
      async (request, reply) => {
        const created = await service.createCredential(
          actorOf(request),
          request.params.id,
          request.body.label,
          request.ip,
        );
        reply.status(201);
        return created;
      },
    );

    app.delete(
      '/orgs/:id/uns/credentials/:credentialId',
      {
        ...auth,
        schema: {
          tags,
          params: CredentialParams,
          response: { 204: Type.Null(), ...errors('WF_NOT_FOUND', 'WF_FORBIDDEN') },
        },
      },
      async (request, reply) => {
        await service.revoke(actorOf(request), request.params.id, request.params.credentialId, request.ip);
        reply.status(204);
        return null;
      },
    );
  };
