// User management. Fleet admins create, change, disable and reset users of any org, org admins
// those of their own org; everyone else can only list the users of their own org. A fleet-wide
// `admin` may only be created in (or promoted within) an operator org. Reads, creation and
// changes run as the tenant role (row-level security); a password reset runs as the table owner
// because the tenant role may not write password hashes. SQL is in users.repository.ts.
import { WattfleetError } from '@wattfleet/protocol';
import { audit, auditInTransaction } from '../audit/audit.ts';
import { type Actor, isFleetAdmin } from '../auth/actor.ts';
import type { HubContext } from '../context.ts';
import { getOrgKind } from '../orgs/orgs.repository.ts';
import { requireUserManager } from './guards.ts';
import { assertPasswordPolicy, generatePassword, hashPassword } from './passwords.ts';
import { withTenant } from './tenant.ts';
import {
  emailTaken,
  getUser,
  insertUser,
  listUsers,
  setPassword,
  type UserPatch,
  updateUser,
  userOrg,
} from './users.repository.ts';
import { type CreateUserBody, type PatchUserBody, publicUser, type ResetBody } from './users.schema.ts';

const ADMIN_NEEDS_OPERATOR = {
  path: '/body/role',
  message: 'a fleet-wide admin belongs to an operator org; use org_admin for this org',
};

export class UserService {
  constructor(private readonly hub: HubContext) {}

  async list(actor: Actor, orgId: string | undefined) {
    const rows = await withTenant(this.hub, actor, (trx) =>
      // Code scoping first; RLS would hide foreign rows anyway.
      listUsers(trx, {
        ...(isFleetAdmin(actor) ? {} : { actorOrgId: actor.kind === 'user' ? actor.orgId : '' }),
        orgId,
      }),
    );
    return rows.map(publicUser);
  }

  async get(actor: Actor, id: string) {
    const user = await withTenant(this.hub, actor, (trx) => getUser(trx, id));
    if (!user || (!isFleetAdmin(actor) && actor.kind === 'user' && user.org_id !== actor.orgId)) {
      throw new WattfleetError('WF_NOT_FOUND', 'User not found');
    }
    return publicUser(user);
  }

  async create(caller: Actor, body: CreateUserBody, sourceIp: string) {
    const actor = await requireUserManager(this.hub, caller, sourceIp, 'user.create', body.orgId, {
      type: 'user',
    });
    if (body.password !== undefined) assertPasswordPolicy(body.password, '/body/password');
    const email = body.email.trim().toLowerCase();
    const password = body.password ?? generatePassword();
    const passwordHash = await hashPassword(password);
    // Admins only, and run as the tenant role all the same: row-level security admits fleet admins
    // anywhere and org admins in their own org.
    const user = await withTenant(
      this.hub,
      actor,
      async (trx) => {
        const org = await getOrgKind(trx, body.orgId);
        if (!org)
          throw new WattfleetError('WF_VALIDATION', undefined, [
            { path: '/body/orgId', message: 'unknown org' },
          ]);
        if (body.role === 'admin' && org.kind !== 'operator')
          throw new WattfleetError('WF_VALIDATION', undefined, [ADMIN_NEEDS_OPERATOR]);
        if (await emailTaken(trx, email))
          throw new WattfleetError('WF_CONFLICT', 'A user with this email exists');
        const created = await insertUser(trx, {
          orgId: body.orgId,
          email,
          name: body.name ?? null,
          role: body.role,
          passwordHash,
          // A password chosen by someone else must be replaced at first login.
          mustChangePassword: body.password === undefined || body.mustChangePassword !== false,
        });
        await auditInTransaction(trx, actor, {
          action: 'user.create',
          targetType: 'user',
          targetId: created.id,
          orgId: created.org_id,
          sourceIp,
          details: { email, role: body.role },
        });
        return created;
      },
      'write',
    );
    return { ...publicUser(user), ...(body.password === undefined ? { temporaryPassword: password } : {}) };
  }

  async patch(caller: Actor, id: string, body: PatchUserBody, sourceIp: string) {
    // Read as the table owner so the guard can decide 404 vs 403.
    const target = await userOrg(this.hub.db, id);
    const actor = await requireUserManager(this.hub, caller, sourceIp, 'user.update', target?.org_id, {
      type: 'user',
      id,
    });
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
    const patch: UserPatch = {};
    if (body.name !== undefined) patch.name = body.name;
    if (body.role !== undefined) patch.role = body.role;
    if (body.disabled !== undefined) patch.disabled_at = body.disabled ? new Date() : null;
    // The audit entry commits with the change or not at all.
    const user = await withTenant(
      this.hub,
      actor,
      async (trx) => {
        const row = await updateUser(trx, id, patch);
        if (!row) return undefined;
        await auditInTransaction(trx, actor, {
          action:
            body.disabled === true ? 'user.disable' : body.disabled === false ? 'user.enable' : 'user.update',
          targetType: 'user',
          targetId: id,
          orgId: row.org_id,
          sourceIp,
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
    if (body.disabled === true) await this.hub.identity?.revokeUserSessions(id, 'disabled');
    return publicUser(user);
  }

  async resetPassword(caller: Actor, id: string, body: ResetBody, sourceIp: string) {
    const target = await userOrg(this.hub.db, id);
    const actor = await requireUserManager(
      this.hub,
      caller,
      sourceIp,
      'user.reset_password',
      target?.org_id,
      {
        type: 'user',
        id,
      },
    );
    if (body.password !== undefined) assertPasswordPolicy(body.password, '/body/password');
    const password = body.password ?? generatePassword();
    const mustChangePassword = body.password === undefined || body.mustChangePassword !== false;
    const user = await setPassword(this.hub.db, id, await hashPassword(password), mustChangePassword);
    if (!user) throw new WattfleetError('WF_NOT_FOUND', 'User not found');
    await this.hub.identity?.revokeUserSessions(id, 'password_reset');
    await audit(this.hub.db, actor, {
      action: 'user.reset_password',
      targetType: 'user',
      targetId: id,
      orgId: user.org_id,
      sourceIp,
    });
    return { temporaryPassword: password, mustChangePassword };
  }
}
