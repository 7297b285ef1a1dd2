// Vendor account routes: thin, typed by the TypeBox provider from vendors.schema.ts (params,
// query, body and every response). Logic and access checks are in vendors.service.ts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { actorOf } from '../auth/authenticate.ts';
import { errors } from '../http/responses.ts';
import {
  Account,
  AccountList,
  AccountParams,
  ConnectionRequest,
  CreateAccountBody,
  EnphaseAuthorizeBody,
  EnphaseAuthorizeUrl,
  EnphaseAuthorizeUrlQuery,
  EnphaseGrant,
  LogList,
  LogQuery,
  PatchAccountBody,
  RotateCredentialsBody,
  SiteParams,
  SystemInfo,
  VendorList,
} from './vendors.schema.ts';
import type { VendorService } from './vendors.service.ts';

const tags = ['vendors'];

export const vendorRoutes =
  (service: VendorService): FastifyPluginAsyncTypebox =>
  async (app) => {
    const auth = { preHandler: app.requireActor };

    app.get('/vendors', { ...auth, schema: { tags, response: { 200: VendorList } } }, async () =>
      service.listVendors(),
    );

    app.post(
      '/sites/:siteId/vendor-accounts/test',
      {
        ...auth,
        schema: {
          tags,
          params: SiteParams,
          body: ConnectionRequest,
          response: { 200: SystemInfo, ...errors('WF_NOT_FOUND') },
        },
      },
      async (request) => service.testConnection(actorOf(request), request.params.siteId, request.body),
    );

    // Enphase OAuth, step 1: the page where the owner approves this application.
    app.get(
      '/vendors/enphase/authorize-url',
      {
        ...auth,
        schema: {
          tags,
          querystring: EnphaseAuthorizeUrlQuery,
          response: { 200: EnphaseAuthorizeUrl, ...errors('WF_VALIDATION', 'WF_UNAVAILABLE') },
        },
      },
      async (request) => service.enphaseAuthorizeUrl(request.query.redirectUri),
    );

    // Step 2: the code Enphase handed back is exchanged once; the answer names a grant (tokens in
    // the vault) and the systems it may read. Step 3 is an ordinary add with credentials.grant.
    app.post(
      '/sites/:siteId/vendor-accounts/enphase/authorize',
      {
        ...auth,
        schema: {
          tags,
          params: SiteParams,
          body: EnphaseAuthorizeBody,
          response: {
            200: EnphaseGrant,
            ...errors('WF_VALIDATION', 'WF_NOT_FOUND', 'WF_FORBIDDEN', 'WF_UNAVAILABLE'),
          },
        },
      },
      async (request) => service.enphaseAuthorize(actorOf(request), request.params.siteId, request.body),
    );

    app.post(
      '/sites/:siteId/vendor-accounts',
      {
        ...auth,
        schema: {
          tags,
          params: SiteParams,
          body: CreateAccountBody,
          response: { 201: Account, ...errors('WF_NOT_FOUND', 'WF_CONFLICT') },
        },
      },
      async (request, reply) => {
        reply.status(201);
        return service.create(actorOf(request), request.params.siteId, request.body, request.ip);
      },
    );

    app.get(
      '/sites/:siteId/vendor-accounts',
      {
        ...auth,
        schema: { tags, params: SiteParams, response: { 200: AccountList, ...errors('WF_NOT_FOUND') } },
      },
      async (request) => service.listForSite(actorOf(request), request.params.siteId),
    );

    app.get(
      '/vendor-accounts',
      { ...auth, schema: { tags, response: { 200: AccountList } } },
      async (request) => service.listAll(actorOf(request)),
    );

    app.get(
      '/vendor-accounts/:id',
      {
        ...auth,
        schema: { tags, params: AccountParams, response: { 200: Account, ...errors('WF_NOT_FOUND') } },
      },
      async (request) => service.get(actorOf(request), request.params.id),
    );

    app.get(
      '/vendor-accounts/:id/log',
      {
        ...auth,
        schema: {
          tags,
          params: AccountParams,
          querystring: LogQuery,
          response: { 200: LogList, ...errors('WF_NOT_FOUND') },
        },
      },
      async (request) => service.log(actorOf(request), request.params.id, request.query.limit ?? 100),
    );

    app.patch(
      '/vendor-accounts/:id',
      {
        ...auth,
        schema: {
          tags,
          params: AccountParams,
          body: PatchAccountBody,
          response: { 200: Account, ...errors('WF_NOT_FOUND') },
        },
      },
      async (request) => service.patch(actorOf(request), request.params.id, request.body, request.ip),
    );

    app.put(
      '/vendor-accounts/:id/credentials',
      {
        ...auth,
        schema: {
          tags,
          params: AccountParams,
          body: RotateCredentialsBody,
          response: { 200: Account, ...errors('WF_NOT_FOUND') },
        },
      },
      async (request) =>
        service.rotateCredentials(actorOf(request), request.params.id, request.body.credentials, request.ip),
    );

    app.delete(
      '/vendor-accounts/:id',
      {
        ...auth,
        schema: { tags, params: AccountParams, response: { 204: Type.Null(), ...errors('WF_NOT_FOUND') } },
      },
      async (request, reply) => {
        await service.remove(actorOf(request), request.params.id, request.ip);
        reply.status(204);
      },
    );
  };
