// Table types of the identity module, added to the shared Kysely DB interface by augmentation.
import type { Role } from '@wattfleet/protocol';
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

export interface UsersTable {
  id: Generated<string>;
  org_id: string;
  email: string;
  name: string | null;
  role: Role;
  password_hash: string;
  must_change_password: Generated<boolean>;
  password_changed_at: ColumnType<Date, Date | string | undefined, Date | string>;
  disabled_at: Timestamp | null;
  last_login_at: Timestamp | null;
  created_at: CreatedAt;
}

export interface AuthSessionsTable {
  id: Generated<string>;
  user_id: string;
  created_at: CreatedAt;
  last_refreshed_at: Timestamp | null;
  revoked_at: Timestamp | null;
  revoke_reason: string | null;
  source_ip: string | null;
  user_agent: string | null;
}

export interface RefreshTokensTable {
  token_hash: string;
  session_id: string;
  created_at: CreatedAt;
  expires_at: Timestamp;
  used_at: Timestamp | null;
}

export interface SiteGrantsTable {
  id: Generated<string>;
  site_id: string;
  grantee_org_id: string;
  granted_by: string | null;
  created_at: CreatedAt;
  expires_at: Timestamp | null;
  revoked_at: Timestamp | null;
  revoked_by: string | null;
}

export interface HubSecretsTable {
  name: string;
  value: string;
  created_at: CreatedAt;
}

export interface LoginThrottleTable {
  key: string;
  failures: number;
  first_failure_at: Timestamp;
  last_failure_at: Timestamp;
}

declare module '../storage/schema.ts' {
  interface DB {
    users: UsersTable;
    auth_sessions: AuthSessionsTable;
    refresh_tokens: RefreshTokensTable;
    site_grants: SiteGrantsTable;
    hub_secrets: HubSecretsTable;
    login_throttle: LoginThrottleTable;
  }
}
