// User management. Fleet admins create, change, disable and reset users of any org, org admins
// those of their own org; everyone else can only list the users of their own org. A fleet-wide
// `admin` may only be created in (or promoted within) an operator org. Reads, creation and changes run as the tenant role
// (row-level security); a password reset runs as the table owner because the tenant role may not
// write password hashes.
import { ROLES, type Role, WattfleetError } from '@wattfleet/protocol';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { audit, auditInTransaction } from '../audit/audit.ts';
import { isFleetAdmin } from '../auth/actor.ts';
import { actorOf } from '../auth/authenticate.ts';
import { requireUserManager } from './guards.ts';
import { assertPasswordPolicy, generatePassword, hashPassword } from './passwords.ts';
import { publicUser } from './sessions.service.ts';
import { withTenant } from './tenant.ts';

/** Every column but the password hash (which the app role may not even read). */
export const USER_COLUMNS = [
  'id',
  'org_id',
  'email',
  'name',
  'role',
  'disabled_at',
  'must_change_password',
  'last_login_at',
  'created_at',
] as const;

const RoleSchema = Type.Union(ROLES.map((r) => Type.Literal(r)));
const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const CreateUserBody = Type.Object(
  {
    orgId: Type.String({ format: 'uuid' }),
    email: Type.String({ minLength: 3, maxLength: 320, pattern: '^[^@\\s]+@[^@\\s]+$' }),
    name: Type.Optional(Type.String({ maxLength: 200 })),
    role: RoleSchema,
    password: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    /**
     * A password chosen by someone else is temporary by default: the user must replace it before
     * anything else answers. An admin may say otherwise for a password they gave (service accounts,
     * scripts); a generated password is always temporary.
     */
    mustChangePassword: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
const PatchUserBody = Type.Object(
  {
    name: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
    role: Type.Optional(RoleSchema),
    disabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
const ADMIN_NEEDS_OPERATOR = {
  path: '/body/role',
  message: 'a fleet-wide admin belongs to an operator org; use org_admin for this org',
};

/** The org (and its kind) of a user, read as the table owner so the guard can decide 404 vs 403. */
async function targetOf(hub: FastifyInstance['hub'], userId: string) {
  return hub.db
    .selectFrom('users as u')
    .innerJoin('orgs as o', 'o.id', 'u.org_id')
    .select(['u.org_id', 'o.kind'])
    .where('u.id', '=', userId)
    .executeTakeFirst();
}

const ResetBody = Type.Object(
  {
    password: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    /** As on creation: temporary unless the admin gave the password and says otherwise. */
    mustChangePassword: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export async function userRoutes(app: FastifyInstance): Promise<void> {
  const hub = app.hub;
  const guarded = { preHandler: app.requireActor };

  app.get(
    '/users',
    {
      schema: {
        tags: ['users'],
        security: [{ bearer: [] }],
        querystring: Type.Object({ orgId: Type.Optional(Type.String({ format: 'uuid' })) }),
      },
      ...guarded,
    },
    async (request) => {
      const actor = actorOf(request);
      const { orgId } = request.query as { orgId?: string };
      const rows = await withTenant(hub, actor, async (trx) => {
        let q = trx.selectFrom('users').select(USER_COLUMNS).orderBy('email');
        // Code scoping first; RLS would hide foreign rows anyway.
        if (!isFleetAdmin(actor)) q = q.where('org_id', '=', actor.kind === 'user' ? actor.orgId : '');
        if (orgId) q = q.where('org_id', '=', orgId);
        return q.execute();
      });
      return rows.map(publicUser);
    },
  );

  app.get(
    '/users/:id',
    { schema: { tags: ['users'], security: [{ bearer: [] }], params: IdParams }, ...guarded },
    async (request) => {
      const actor = actorOf(request);
      const { id } = request.params as { id: string };
      const user = await withTenant(hub, actor, (trx) =>
        trx.selectFrom('users').select(USER_COLUMNS).where('id', '=', id).executeTakeFirst(),
      );
      if (!user || (!isFleetAdmin(actor) && actor.kind === 'user' && user.org_id !== actor.orgId)) {
        throw new WattfleetError('WF_NOT_FOUND', 'User not found');
      }
      return publicUser(user);
    },
  );

  app.post(
    '/users',
    { schema: { tags: ['users'], security: [{ bearer: [] }], body: CreateUserBody }, ...guarded },
    async (request, reply) => {
      const body = request.body as {
        orgId: string;
        email: string;
        name?: string;
        role: Role;
        password?: string;
        mustChangePassword?: boolean;
      };
      const actor = await requireUserManager(hub, request, 'user.create', body.orgId, { type: 'user' });
      if (body.password !== undefined) assertPasswordPolicy(body.password, '/body/password');
      const email = body.email.trim().toLowerCase();
      const password = body.password ?? generatePassword();
      const passwordHash = await hashPassword(password);
      // Admins only, and run as the tenant role all the same: row-level security admits fleet admins
      // anywhere and org admins in their own org.
      const user = await withTenant(
        hub,
        actor,
        async (trx) => {
          const org = await trx
            .selectFrom('orgs')
            .select(['id', 'kind'])
            .where('id', '=', body.orgId)
            .executeTakeFirst();
          if (!org)
            throw new WattfleetError('WF_VALIDATION', undefined, [
              { path: '/body/orgId', message: 'unknown org' },
            ]);
          if (body.role === 'admin' && org.kind !== 'operator')
            throw new WattfleetError('WF_VALIDATION', undefined, [ADMIN_NEEDS_OPERATOR]);
          const exists = await trx
            .selectFrom('users')
            .select('id')
            .where('email', '=', email)
            .executeTakeFirst();
          if (exists) throw new WattfleetError('WF_CONFLICT', 'A user with this email exists');
          const created = await trx
            .insertInto('users')
            .values({
              org_id: body.orgId,
              email,
              name: body.name ?? null,
              role: body.role,
              password_hash: passwordHash,
              // A password chosen by someone else must be replaced at first login.
              must_change_password: body.password === undefined || body.mustChangePassword !== false,
            })
            .returning(USER_COLUMNS)
            .executeTakeFirstOrThrow();
          await auditInTransaction(trx, actor, {
            action: 'user.create',
            targetType: 'user',
            targetId: created.id,
            orgId: created.org_id,
            sourceIp: request.ip,
            details: { email, role: body.role },
          });
          return created;
        },
        'write',
      );
      reply.status(201);
      return { ...publicUser(user), ...(body.password === undefined ? { temporaryPassword: password } : {}) };
    },
  );

  app.patch(
    '/users/:id',
    {
      schema: { tags: ['users'], security: [{ bearer: [] }], params: IdParams, body: PatchUserBody },
      ...guarded,
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const target = await targetOf(hub, id);
      const actor = await requireUserManager(hub, request, 'user.update', target?.org_id, {
        type: 'user',
        id,
      });
      const body = request.body as { name?: string | null; role?: Role; disabled?: boolean };
      if (
        actor.kind === 'user' &&
        actor.userId === id &&
        (body.disabled === true || (body.role && body.role !== actor.role))
      ) {
        // An admin locking themselves out leaves a fleet (or an org) without anyone to undo it.
        throw new WattfleetError('WF_CONFLICT', 'You cannot disable or demote yourself');
      }
      if (body.role === 'admin' && target && target.kind !== 'operator')
        throw new WattfleetError('WF_VALIDATION', undefined, [ADMIN_NEEDS_OPERATOR]);
      const patch: { name?: string | null; role?: Role; disabled_at?: Date | null } = {};
      if (body.name !== undefined) patch.name = body.name;
      if (body.role !== undefined) patch.role = body.role;
      if (body.disabled !== undefined) patch.disabled_at = body.disabled ? new Date() : null;
      // The audit entry commits with the change or not at all.
      const user = await withTenant(
        hub,
        actor,
        async (trx) => {
          const row = await (Object.keys(patch).length > 0
            ? trx
                .updateTable('users')
                .set(patch)
                .where('id', '=', id)
                .returning(USER_COLUMNS)
                .executeTakeFirst()
            : trx.selectFrom('users').select(USER_COLUMNS).where('id', '=', id).executeTakeFirst());
          if (!row) return undefined;
          await auditInTransaction(trx, actor, {
            action:
              body.disabled === true
                ? 'user.disable'
                : body.disabled === false
                  ? 'user.enable'
                  : 'user.update',
            targetType: 'user',
            targetId: id,
            orgId: row.org_id,
            sourceIp: request.ip,
            details: {
              ...(body.role ? { role: body.role } : {}),
              ...(body.name !== undefined ? { name: body.name } : {}),
            },
          });
          return row;
        },
        'write',
      );
      if (!user) throw new WattfleetError('WF_NOT_FOUND', 'User not found');
      if (body.disabled === true) await hub.identity?.revokeUserSessions(id, 'disabled');
      return publicUser(user);
    },
  );

  app.post(
    '/users/:id/reset-password',
    {
      schema: { tags: ['users'], security: [{ bearer: [] }], params: IdParams, body: ResetBody },
      ...guarded,
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const target = await targetOf(hub, id);
      const actor = await requireUserManager(hub, request, 'user.reset_password', target?.org_id, {
        type: 'user',
        id,
      });
      const body = (request.body ?? {}) as { password?: string; mustChangePassword?: boolean };
      if (body.password !== undefined) assertPasswordPolicy(body.password, '/body/password');
      const password = body.password ?? generatePassword();
      const user = await hub.db
        .updateTable('users')
        .set({
          password_hash: await hashPassword(password),
          must_change_password: body.password === undefined || body.mustChangePassword !== false,
          password_changed_at: new Date(),
        })
        .where('id', '=', id)
        .returning(['id', 'org_id'])
        .executeTakeFirst();
      if (!user) throw new WattfleetError('WF_NOT_FOUND', 'User not found');
      await hub.identity?.revokeUserSessions(id, 'password_reset');
      await audit(hub.db, actor, {
        action: 'user.reset_password',
        targetType: 'user',
        targetId: id,
        orgId: user.org_id,
        sourceIp: request.ip,
      });
      return {
        temporaryPassword: password,
        mustChangePassword: body.password === undefined || body.mustChangePassword !== false,
      };
    },
  );
}
