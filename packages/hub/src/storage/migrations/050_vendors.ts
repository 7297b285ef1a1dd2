// Vendor clouds (issue 20): the credential vault, vendor accounts (each drives one virtual node),
// and the per-account connection log. Poll state and the lease live on the account row so one
// UPDATE … RETURNING both claims an account and reads what the poller needs.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
-- AES-256-GCM ciphertexts. key_id names the master key that sealed the row (a fingerprint, never
-- the key); the row id is bound in as associated data, so a ciphertext moved to another row fails.
CREATE TABLE secrets (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  key_id text NOT NULL,
  nonce bytea NOT NULL,
  ciphertext bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE vendor_accounts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  site_id uuid NOT NULL REFERENCES sites (id),
  node_id uuid NOT NULL UNIQUE REFERENCES nodes (id),
  vendor text NOT NULL,
  name text NOT NULL,
  external_id text NOT NULL,
  secret_id uuid NOT NULL REFERENCES secrets (id),
  settings jsonb NOT NULL DEFAULT '{}',
  system_info jsonb NOT NULL DEFAULT '{}',
  status text NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'credentials_rejected', 'reauthorise', 'removed')),
  status_message text,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  removed_at timestamptz,
  -- Poll state (written by the hub that holds the lease).
  consecutive_failures integer NOT NULL DEFAULT 0,
  breaker text NOT NULL DEFAULT 'closed' CHECK (breaker IN ('closed', 'open', 'half_open')),
  breaker_opened_at timestamptz,
  failing_since timestamptz,
  last_poll_at timestamptz,
  last_success_at timestamptz,
  last_error text,
  cursor jsonb NOT NULL DEFAULT '{}',
  budget jsonb NOT NULL DEFAULT '{}',
  notices jsonb NOT NULL DEFAULT '{}',
  -- One hub polls an account at a time: it holds the lease until lease_until and renews it.
  lease_owner text,
  lease_until timestamptz
);
CREATE INDEX vendor_accounts_site ON vendor_accounts (site_id);
CREATE INDEX vendor_accounts_lease ON vendor_accounts (lease_until) WHERE status <> 'removed';
-- The same vendor system twice on one site would store everything twice under two nodes.
CREATE UNIQUE INDEX vendor_accounts_one_system ON vendor_accounts (site_id, vendor, external_id)
  WHERE status <> 'removed';

CREATE TABLE vendor_connection_log (
  id bigserial PRIMARY KEY,
  account_id uuid NOT NULL REFERENCES vendor_accounts (id),
  site_id uuid NOT NULL REFERENCES sites (id),
  at timestamptz NOT NULL DEFAULT now(),
  outcome text NOT NULL,
  http_status integer,
  error text,
  response_ms integer,
  hub text
);
CREATE INDEX vendor_connection_log_account ON vendor_connection_log (account_id, at DESC);
CREATE INDEX vendor_connection_log_at ON vendor_connection_log (at);
`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE vendor_connection_log, vendor_accounts, secrets`.execute(db);
}
