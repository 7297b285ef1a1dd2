// User routes: thin, typed by the TypeBox provider from users.schema.ts (params, query, body and
// every response). Access checks and logic are in users.service.ts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { actorOf } from '../auth/authenticate.ts';
import { errors } from '../http/responses.ts';
import {
  CreatedUser,
  CreateUserBody,
  PatchUserBody,
  ResetAnswer,
  ResetBody,
  User,
  UserList,
  UserParams,
  UsersQuery,
} from './users.schema.ts';
import { UserService } from './users.service.ts';

const tags = ['users'];

export const userRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const service = new UserService(app.hub);
  const auth = { preHandler: app.requireActor };

  app.get(
    '/users',
    { ...auth, schema: { tags, querystring: UsersQuery, response: { 200: UserList } } },
    async (request) => service.list(actorOf(request), request.query.orgId),
  );

  app.get(
    '/users/:id',
    { ...auth, schema: { tags, params: UserParams, response: { 200: User, ...errors('WF_NOT_FOUND') } } },
    async (request) => service.get(actorOf(request), request.params.id),
  );

  app.post(
    '/users',
    {
      ...auth,
      schema: {
        tags,
        body: CreateUserBody,
        response: { 201: CreatedUser, ...errors('WF_FORBIDDEN', 'WF_CONFLICT') },
      },
    },
    async (request, reply) => {
      const user = await service.create(actorOf(request), request.body, request.ip);
      reply.status(201);
      return user;
    },
  );

  app.patch(
    '/users/:id',
    {
      ...auth,
      schema: {
        tags,
        params: UserParams,
        body: PatchUserBody,
        response: { 200: User, ...errors('WF_FORBIDDEN', 'WF_NOT_FOUND', 'WF_CONFLICT') },
      },
    },
    async (request) => service.patch(actorOf(request), request.params.id, request.body, request.ip),
  );

  app.post(
    '/users/:id/reset-password',
    {
      ...auth,
      schema: {
        tags,
        params: UserParams,
        body: ResetBody,
        response: { 200: ResetAnswer, ...errors('WF_FORBIDDEN', 'WF_NOT_FOUND') },
      },
    },
    // An empty request (no body at all) resets to a generated password.
    async (request) =>
      service.resetPassword(actorOf(request), request.params.id, request.body ?? {}, request.ip),
  );
};
