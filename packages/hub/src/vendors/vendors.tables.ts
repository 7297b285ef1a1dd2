// Kysely types of the vendor tables (migration 050).
import type { ColumnType, Generated, JSONColumnType } from 'kysely';

type Stamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json = JSONColumnType<Record<string, unknown>, string | undefined, string>;

export type VendorAccountStatus = 'active' | 'credentials_rejected' | 'reauthorise' | 'removed';
export type BreakerState = 'closed' | 'open' | 'half_open';

export interface VendorAccountsTable {
  id: Generated<string>;
  site_id: string;
  node_id: string;
  vendor: string;
  name: string;
  external_id: string;
  secret_id: string;
  settings: Json;
  system_info: Json;
  status: Generated<VendorAccountStatus>;
  status_message: string | null;
  created_by: string | null;
  created_at: Stamp;
  removed_at: Date | null;
  consecutive_failures: Generated<number>;
  breaker: Generated<BreakerState>;
  breaker_opened_at: Date | null;
  failing_since: Date | null;
  last_poll_at: Date | null;
  last_success_at: Date | null;
  last_error: string | null;
  cursor: Json;
  budget: Json;
  notices: Json;
  lease_owner: string | null;
  lease_until: Date | null;
}

export interface VendorConnectionLogTable {
  id: Generated<number>;
  account_id: string;
  site_id: string;
  at: Stamp;
  outcome: string;
  http_status: number | null;
  error: string | null;
  response_ms: number | null;
  hub: string | null;
}

declare module '../storage/schema.ts' {
  interface DB {
    vendor_accounts: VendorAccountsTable;
    vendor_connection_log: VendorConnectionLogTable;
  }
}
