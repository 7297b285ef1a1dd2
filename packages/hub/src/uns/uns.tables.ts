// Kysely types of the unified namespace tables (migration 044).
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface UnsOrgSettingsTable {
  org_id: string;
  enabled: boolean;
  slug: string;
  updated_at: Timestamp;
}

export interface UnsCredentialsTable {
  id: Generated<string>;
  org_id: string;
  username: string;
  password_hash: string;
  label: string | null;
  created_at: Timestamp;
  revoked_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

declare module '../storage/schema.ts' {
  interface DB {
    uns_org_settings: UnsOrgSettingsTable;
    uns_credentials: UnsCredentialsTable;
  }
}
