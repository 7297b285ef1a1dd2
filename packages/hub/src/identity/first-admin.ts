// The first admin, so a fresh hub can be logged into. Credentials come from
// WATTFLEET_ADMIN_EMAIL / WATTFLEET_ADMIN_PASSWORD, or a password is generated and printed once
// (it is stored only as an argon2id hash). Does nothing when any admin already exists.
import type { FastifyInstance } from 'fastify';
import { audit } from '../audit/audit.ts';
import type { HubContext } from '../context.ts';
import { anyAdminExists, lockFirstAdmin, operatorOrg } from './first-admin.repository.ts';
import { assertPasswordPolicy, generatePassword, hashPassword } from './passwords.ts';
import { insertUser } from './users.repository.ts';
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
    await lockFirstAdmin(trx);
    if (await anyAdminExists(trx)) return { created: false } satisfies FirstAdminResult;
    const email = (env.WATTFLEET_ADMIN_EMAIL || 'admin@wattfleet.local').trim().toLowerCase();
    const given = env.WATTFLEET_ADMIN_PASSWORD || undefined;
    if (given) assertPasswordPolicy(given, 'WATTFLEET_ADMIN_PASSWORD');
    const password = given ?? generatePassword();
    const org = await operatorOrg(trx);
    const user = await insertUser(trx, {
      orgId: org.id,
      email,
      name: 'Administrator',
      role: 'admin',
      passwordHash: await hashPassword(password),
      mustChangePassword: !given,
    });
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
