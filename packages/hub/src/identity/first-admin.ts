// The first admin, so a fresh hub can be logged into. Credentials come from
// WATTFLEET_ADMIN_EMAIL / WATTFLEET_ADMIN_PASSWORD, or a password is generated and printed once
// (it is stored only as an argon2id hash). Does nothing when any admin already exists.
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { audit } from '../audit/audit.ts';
import type { HubContext } from '../context.ts';
import { assertPasswordPolicy, generatePassword, hashPassword } from './passwords.ts';
import './schema.ts';

export interface FirstAdminResult {
  created: boolean;
  email?: string;
  /** Only when generated: the caller must show it once. */
  generatedPassword?: string;
}

export async function ensureFirstAdmin(
  hub: Pick<HubContext, 'db'>,
  env: NodeJS.ProcessEnv = process.env,
  print: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Promise<FirstAdminResult> {
  const result = await hub.db.transaction().execute(async (trx) => {
    // Several hub instances may start together against one database: one creates, others see it.
    await sql`SELECT pg_advisory_xact_lock(hashtext('wattfleet.first-admin'))`.execute(trx);
    const existing = await trx
      .selectFrom('users')
      .select('id')
      .where('role', '=', 'admin')
      .executeTakeFirst();
    if (existing) return { created: false } satisfies FirstAdminResult;
    const email = (env.WATTFLEET_ADMIN_EMAIL || 'admin@wattfleet.local').trim().toLowerCase();
    const given = env.WATTFLEET_ADMIN_PASSWORD || undefined;
    if (given) assertPasswordPolicy(given, 'WATTFLEET_ADMIN_PASSWORD');
    const password = given ?? generatePassword();
    const org =
      (await trx
        .selectFrom('orgs')
        .select('id')
        .where('kind', '=', 'operator')
        .orderBy('created_at')
        .executeTakeFirst()) ??
      (await trx
        .insertInto('orgs')
        .values({ name: 'Operator', kind: 'operator' })
        .returning('id')
        .executeTakeFirstOrThrow());
    const user = await trx
      .insertInto('users')
      .values({
        org_id: org.id,
        email,
        name: 'Administrator',
        role: 'admin',
        password_hash: await hashPassword(password),
        must_change_password: !given,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await audit(
      trx,
      { kind: 'system' },
      {
        action: 'user.create',
        targetType: 'user',
        targetId: user.id,
        orgId: org.id,
        details: { email, role: 'admin', firstAdmin: true },
      },
    );
    return {
      created: true,
      email,
      ...(given ? {} : { generatedPassword: password }),
    } satisfies FirstAdminResult;
  });
  if (result.created) {
    print(`wattfleet: first admin created: ${result.email}`);
    if (result.generatedPassword) {
      print(`wattfleet: generated password (shown once, change it after login): ${result.generatedPassword}`);
    }
  }
  return result;
}

/** The same as a start hook (server.ts StartHook): add it to start-hooks.ts. */
export async function firstAdminStartHook(app: FastifyInstance): Promise<void> {
  await ensureFirstAdmin(app.hub);
}
