// Identity: users (one org each), login sessions with rotating refresh tokens, installer grants
// on sites, and hub-generated secrets (the JWT key when none is configured).
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
CREATE TABLE users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id uuid NOT NULL REFERENCES orgs (id),
  email text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 320),
  name text,
  role text NOT NULL CHECK (role IN ('admin', 'installer', 'owner', 'viewer')),
  -- argon2id PHC string; the password itself is never stored.
  password_hash text NOT NULL,
  must_change_password boolean NOT NULL DEFAULT false,
  password_changed_at timestamptz NOT NULL DEFAULT now(),
  disabled_at timestamptz,
  last_login_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email ON users (email);
CREATE INDEX users_org ON users (org_id);

-- One login = one session = one refresh-token family. Revoking the session ends every token of it,
-- including access tokens (they carry the session id and are checked against this row).
CREATE TABLE auth_sessions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  last_refreshed_at timestamptz,
  revoked_at timestamptz,
  revoke_reason text,
  source_ip text,
  user_agent text
);
CREATE INDEX auth_sessions_user ON auth_sessions (user_id);

-- Only the SHA-256 of a refresh token is kept: a database reader cannot use them.
CREATE TABLE refresh_tokens (
  token_hash text PRIMARY KEY,
  session_id uuid NOT NULL REFERENCES auth_sessions (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- An owner lets an installer org see and manage one site, optionally until a date.
CREATE TABLE site_grants (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  site_id uuid NOT NULL REFERENCES sites (id),
  grantee_org_id uuid NOT NULL REFERENCES orgs (id),
  granted_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  revoked_at timestamptz,
  revoked_by text
);
CREATE INDEX site_grants_grantee ON site_grants (grantee_org_id) WHERE revoked_at IS NULL;
CREATE INDEX site_grants_site ON site_grants (site_id);

CREATE TABLE hub_secrets (
  name text PRIMARY KEY,
  value text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE hub_secrets, site_grants, refresh_tokens, auth_sessions, users`.execute(db);
}
