import { EnrollRequest, EnrollResponse, PublicKey, WattfleetError } from '@wattfleet/protocol';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { assertNodeAccess, assertSiteAccess } from '../auth/access.ts';
import { isFleetAdmin } from '../auth/actor.ts';
import { actorOf } from '../auth/authenticate.ts';
import { withTenant } from '../identity/tenant.ts';
import { controlPlaneConfig } from '../mqtt/config.ts';
import { controlChannel } from './control-channel.ts';
import {
  createEnrollmentCode,
  enrollNode,
  revokeEnrollmentCode,
  rotateOwnCredentials,
  setNodeActive,
} from './enrollment.service.ts';
import { useNodeSignatures } from './node-auth.ts';

const NodeIdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const SiteIdParams = Type.Object({ siteId: Type.String({ format: 'uuid' }) });
const CodeBody = Type.Object(
  {
    nodeName: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    ttlMinutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 30 * 24 * 60 })),
  },
  { additionalProperties: false },
);
const CodeAnswer = Type.Object({
  code: Type.String(),
  siteId: Type.String(),
  nodeId: Type.Union([Type.String(), Type.Null()]),
  expiresAt: Type.String(),
});

export async function nodeRoutes(app: FastifyInstance): Promise<void> {
  const hub = app.hub;
  const { offlineAfterS } = controlPlaneConfig(hub.config);

  app.post(
    '/nodes/enroll',
    {
      schema: { tags: ['nodes'], body: EnrollRequest, response: { 200: EnrollResponse } },
      config: { rateLimit: { max: 20, timeWindow: '1 minute' } },
    },
    async (request) =>
      enrollNode(hub, request.body as EnrollRequest, request.ip, {
        requestHost: request.hostname,
        embeddedBrokerUrl: hub.config.mqttUrl ? undefined : app.controlPlane.brokerUrl,
      }),
  );

  app.post(
    '/sites/:siteId/enrollment-codes',
    {
      schema: { tags: ['nodes'], params: SiteIdParams, body: CodeBody, response: { 201: CodeAnswer } },
      preHandler: app.requireActor,
    },
    async (request, reply) => {
      const actor = actorOf(request);
      const { siteId } = request.params as { siteId: string };
      await assertSiteAccess(hub, actor, siteId, 'write');
      if (actor.kind === 'user' && !['admin', 'installer'].includes(actor.role))
        throw new WattfleetError('WF_FORBIDDEN');
      const body = request.body as { nodeName?: string; ttlMinutes?: number };
      reply.status(201);
      return createEnrollmentCode(hub, actor, { siteId, ...body }, request.ip);
    },
  );

  app.post(
    '/fleet/enrollment-codes/:id/revoke',
    {
      schema: {
        tags: ['nodes'],
        summary: 'Revoke a pending enrollment code (a used or expired one answers 409)',
        security: [{ bearer: [] }],
        params: Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{32}$' }) }),
        response: {
          200: Type.Object({
            id: Type.String(),
            siteId: Type.String(),
            nodeName: Type.Union([Type.String(), Type.Null()]),
            state: Type.Literal('revoked'),
          }),
        },
      },
      preHandler: app.requireActor,
    },
    async (request) => {
      const actor = actorOf(request);
      // The same people who create codes may revoke them.
      if (!isFleetAdmin(actor) && !(actor.kind === 'user' && actor.role === 'installer'))
        throw new WattfleetError('WF_FORBIDDEN', 'Only admins and installers manage enrollment codes');
      const { id } = request.params as { id: string };
      return revokeEnrollmentCode(hub, actor, id, request.ip);
    },
  );

  app.post(
    '/nodes/:id/reenrollment-code',
    {
      schema: { tags: ['nodes'], params: NodeIdParams, response: { 201: CodeAnswer } },
      preHandler: app.requireActor,
    },
    async (request, reply) => {
      const actor = actorOf(request);
      const { id } = request.params as { id: string };
      const node = await assertNodeAccess(hub, actor, id, 'write');
      if (!isFleetAdmin(actor) && !(actor.kind === 'user' && actor.role === 'installer')) {
        throw new WattfleetError('WF_FORBIDDEN');
      }
      reply.status(201);
      return createEnrollmentCode(hub, actor, { siteId: node.site_id, nodeId: id }, request.ip);
    },
  );

  for (const [path, active] of [
    ['/nodes/:id/deactivate', false],
    ['/nodes/:id/activate', true],
  ] as const) {
    app.post(
      path,
      { schema: { tags: ['nodes'], params: NodeIdParams }, preHandler: app.requireActor },
      async (request) => {
        const actor = actorOf(request);
        const { id } = request.params as { id: string };
        await assertNodeAccess(hub, actor, id, 'write');
        if (!isFleetAdmin(actor)) throw new WattfleetError('WF_FORBIDDEN');
        await setNodeActive(hub, actor, id, active, request.ip);
        app.nodeKeys.invalidate(id);
        return { id, active };
      },
    );
  }

  app.get(
    '/nodes/:id',
    { schema: { tags: ['nodes'], params: NodeIdParams }, preHandler: app.requireActor },
    async (request) => {
      const { id } = request.params as { id: string };
      const actor = actorOf(request);
      await assertNodeAccess(hub, actor, id);
      // Read again as the tenant: row-level security is the second fence.
      const node = await withTenant(hub, actor, (trx) =>
        trx
          .selectFrom('nodes')
          .select([
            'id',
            'site_id',
            'name',
            'kind',
            'active',
            'status',
            'status_reason',
            'last_seen_at',
            'clock_offset_ms',
            'agent_version',
            'git_commit',
            'os_version',
            'created_at',
            'sample_interval_s',
            controlChannel(offlineAfterS).as('control_channel'),
          ])
          .where('id', '=', id)
          .executeTakeFirst(),
      );
      if (!node) throw new WattfleetError('WF_NOT_FOUND', 'Node not found');
      return node;
    },
  );

  // Signed by the node itself: rotate its key pair and MQTT password.
  await app.register(async (signed) => {
    useNodeSignatures(signed, 64 * 1024);
    signed.post(
      '/nodes/self/credentials',
      {
        schema: {
          tags: ['nodes'],
          body: Type.Object({ publicKey: PublicKey }, { additionalProperties: false }),
        },
      },
      async (request) => {
        const actor = actorOf(request);
        if (actor.kind !== 'node') throw new WattfleetError('WF_FORBIDDEN');
        const result = await rotateOwnCredentials(
          hub,
          actor.nodeId,
          (request.body as { publicKey: string }).publicKey,
          request.ip,
        );
        app.nodeKeys.invalidate(actor.nodeId);
        return result;
      },
    );
  });
}
