// SQL of login sessions (auth_sessions) and their rotating refresh tokens (refresh_tokens, by
// SHA-256 only). The rules (rotation, reuse detection, what ends a session) are in
// sessions.service.ts.
import { type Kysely, sql } from 'kysely';
import type { DB } from '../storage/schema.ts';
import './schema.ts';

export async function insertRefreshToken(
  db: Kysely<DB>,
  row: { tokenHash: string; sessionId: string; expiresAt: Date },
): Promise<void> {
  await db
    .insertInto('refresh_tokens')
    .values({ token_hash: row.tokenHash, session_id: row.sessionId, expires_at: row.expiresAt })
    .execute();
}

export function userByEmail(db: Kysely<DB>, email: string) {
  return db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
}

/** A new session for a user who just signed in; also stamps the user's last login. */
export async function openSession(
  db: Kysely<DB>,
  s: { userId: string; sourceIp: string; userAgent: string | null },
): Promise<string> {
  const session = await db
    .insertInto('auth_sessions')
    .values({ user_id: s.userId, source_ip: s.sourceIp, user_agent: s.userAgent })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db.updateTable('users').set({ last_login_at: new Date() }).where('id', '=', s.userId).execute();
  return session.id;
}

/** A refresh token with its session and user, or undefined for a token we never issued. */
export function refreshTokenRow(db: Kysely<DB>, tokenHash: string) {
  return db
    .selectFrom('refresh_tokens as t')
    .innerJoin('auth_sessions as s', 's.id', 't.session_id')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select([
      't.token_hash',
      't.expires_at',
      't.used_at',
      's.id as session_id',
      's.revoked_at',
      'u.id as user_id',
      'u.org_id',
      'u.role',
      'u.email',
      'u.disabled_at',
    ])
    .where('t.token_hash', '=', tokenHash)
    .executeTakeFirst();
}

/** Spends a token atomically: true for the one caller that spent it, false if it already was. */
export async function spendRefreshToken(db: Kysely<DB>, tokenHash: string): Promise<boolean> {
  const spent = await db
    .updateTable('refresh_tokens')
    .set({ used_at: sql<Date>`now()` })
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .returning('token_hash')
    .executeTakeFirst();
  return spent !== undefined;
}

export async function markRefreshed(db: Kysely<DB>, sessionId: string): Promise<void> {
  await db
    .updateTable('auth_sessions')
    .set({ last_refreshed_at: sql<Date>`now()` })
    .where('id', '=', sessionId)
    .execute();
}

/** Ends one session if still open; returns its user, or undefined when it was already ended. */
export async function endSession(db: Kysely<DB>, sessionId: string, reason: string) {
  const ended = await db
    .updateTable('auth_sessions')
    .set({ revoked_at: sql<Date>`now()`, revoke_reason: reason })
    .where('id', '=', sessionId)
    .where('revoked_at', 'is', null)
    .returning('user_id')
    .executeTakeFirst();
  return ended?.user_id;
}

/** Ends every open session of a user but `except`; returns the ids it ended. */
export async function endUserSessions(
  db: Kysely<DB>,
  userId: string,
  reason: string,
  except?: string,
): Promise<string[]> {
  let q = db
    .updateTable('auth_sessions')
    .set({ revoked_at: sql<Date>`now()`, revoke_reason: reason })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null);
  if (except) q = q.where('id', '!=', except);
  return (await q.returning('id').execute()).map((r) => r.id);
}

export function sessionRows(db: Kysely<DB>, sessionIds: string[]) {
  return db
    .selectFrom('auth_sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select(['s.id', 's.revoked_at', 'u.id as user_id', 'u.org_id', 'u.role', 'u.email', 'u.disabled_at'])
    .where('s.id', 'in', sessionIds)
    .execute();
}

/** The session an access token names, with its user, when both still exist. */
export function sessionUser(db: Kysely<DB>, sessionId: string, userId: string) {
  return db
    .selectFrom('auth_sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select([
      'u.id',
      'u.org_id',
      'u.role',
      'u.email',
      'u.disabled_at',
      'u.must_change_password',
      's.revoked_at',
    ])
    .where('s.id', '=', sessionId)
    .where('u.id', '=', userId)
    .executeTakeFirst();
}
