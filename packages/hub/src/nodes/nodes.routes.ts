// Node routes: thin, typed by the TypeBox provider from nodes.schema.ts (params, body and every
// response). Access checks and logic are in nodes.service.ts, SQL in nodes.repository.ts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { actorOf } from '../auth/authenticate.ts';
import { errors, NODE_AUTH_ERRORS } from '../http/responses.ts';
import { useNodeSignatures } from './node-auth.ts';
import {
  ActiveAnswer,
  CodeAnswer,
  CodeBody,
  CodeIdParams,
  EnrollRequest,
  EnrollResponse,
  NodeIdParams,
  NodeInfo,
  RevokedCode,
  RotateCredentialsAnswer,
  RotateCredentialsBody,
  SiteIdParams,
} from './nodes.schema.ts';
import { NodeService } from './nodes.service.ts';

const tags = ['nodes'];

export const nodeRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const hub = app.hub;
  const service = new NodeService(hub, app.nodeKeys);
  const auth = { preHandler: app.requireActor };

  app.post(
    '/nodes/enroll',
    {
      schema: {
        tags,
        summary: 'Exchange a one-time enrollment code for a node id and credentials (no authentication)',
        body: EnrollRequest,
        response: { 200: EnrollResponse, ...errors('WF_ENROLLMENT_INVALID') },
      },
      config: { rateLimit: { max: 20, timeWindow: '1 minute' } },
    },
    async (request) =>
      service.enroll(request.body, request.ip, {
        requestHost: request.hostname,
        embeddedBrokerUrl: hub.config.mqttUrl ? undefined : app.controlPlane.nodeBrokerUrl,
      }),
  );

  app.post(
    '/sites/:siteId/enrollment-codes',
    {
      ...auth,
      schema: {
        tags,
        summary: 'Create an enrollment code for a site (admins and installers)',
        params: SiteIdParams,
        body: CodeBody,
        response: { 201: CodeAnswer, ...errors('WF_NOT_FOUND', 'WF_FORBIDDEN') },
      },
    },
    async (request, reply) => {
      reply.status(201);
      return service.createCode(actorOf(request), request.params.siteId, request.body, request.ip);
    },
  );

  app.post(
    '/fleet/enrollment-codes/:id/revoke',
    {
      ...auth,
      schema: {
        tags,
        summary: 'Revoke a pending enrollment code (a used or expired one answers 409)',
        security: [{ bearer: [] }],
        params: CodeIdParams,
        response: { 200: RevokedCode, ...errors('WF_NOT_FOUND', 'WF_FORBIDDEN', 'WF_CONFLICT') },
      },
    },
    async (request) => service.revokeCode(actorOf(request), request.params.id, request.ip),
  );

  app.post(
    '/nodes/:id/reenrollment-code',
    {
      ...auth,
      schema: {
        tags,
        summary: 'Create a code that re-enrolls this node with new credentials (admins and installers)',
        params: NodeIdParams,
        response: { 201: CodeAnswer, ...errors('WF_NOT_FOUND', 'WF_FORBIDDEN') },
      },
    },
    async (request, reply) => {
      reply.status(201);
      return service.reenrollmentCode(actorOf(request), request.params.id, request.ip);
    },
  );

  for (const [path, active] of [
    ['/nodes/:id/deactivate', false],
    ['/nodes/:id/activate', true],
  ] as const) {
    app.post(
      path,
      {
        ...auth,
        schema: {
          tags,
          summary: active
            ? 'Accept the node again (fleet admins)'
            : 'Refuse the node: its signed requests and MQTT sessions (fleet admins)',
          params: NodeIdParams,
          response: { 200: ActiveAnswer, ...errors('WF_NOT_FOUND', 'WF_FORBIDDEN') },
        },
      },
      async (request) => service.setActive(actorOf(request), request.params.id, active, request.ip),
    );
  }

  app.get(
    '/nodes/:id',
    {
      ...auth,
      schema: { tags, params: NodeIdParams, response: { 200: NodeInfo, ...errors('WF_NOT_FOUND') } },
    },
    async (request) => service.get(actorOf(request), request.params.id),
  );

  // Signed by the node itself: rotate its key pair and MQTT password.
  const signedRoutes: FastifyPluginAsyncTypebox = async (signed) => {
    useNodeSignatures(signed, 64 * 1024);
    signed.post(
      '/nodes/self/credentials',
      {
        schema: {
          tags,
          summary: "Replace the node's key pair (signed with the old key); answers a new MQTT password",
          body: RotateCredentialsBody,
          response: { 200: RotateCredentialsAnswer, ...errors(...NODE_AUTH_ERRORS, 'WF_FORBIDDEN') },
        },
      },
      async (request) => service.rotateOwn(actorOf(request), request.body.publicKey, request.ip),
    );
  };
  await app.register(signedRoutes);
};
