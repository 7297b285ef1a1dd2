// The spine: tenants, sites, nodes, equipment, series, partitioned samples, rollups, ingest
// bookkeeping and the audit log. Plain SQL so the same text runs on PostgreSQL and PGlite.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
CREATE TABLE orgs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  kind text NOT NULL CHECK (kind IN ('operator', 'installer', 'household')),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sites (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id uuid NOT NULL REFERENCES orgs (id),
  installer_org_id uuid REFERENCES orgs (id),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  timezone text NOT NULL,
  latitude double precision CHECK (latitude BETWEEN -90 AND 90),
  longitude double precision CHECK (longitude BETWEEN -180 AND 180),
  system_kw double precision CHECK (system_kw >= 0),
  status text NOT NULL DEFAULT 'commissioning' CHECK (status IN ('commissioning', 'active', 'decommissioned')),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sites_org ON sites (org_id);
CREATE INDEX sites_installer ON sites (installer_org_id);

CREATE TABLE nodes (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  site_id uuid NOT NULL REFERENCES sites (id),
  name text NOT NULL,
  kind text NOT NULL DEFAULT 'agent' CHECK (kind IN ('agent', 'plug', 'virtual')),
  -- Ed25519 public key (base64url raw): verifies request signatures, cannot make them.
  public_key text,
  -- Mosquitto-compatible PBKDF2-SHA512 hash ($7$…); the password itself is shown once and never stored.
  mqtt_password_hash text,
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  deactivated_at timestamptz,
  credentials_rotated_at timestamptz,
  sample_interval_s integer NOT NULL DEFAULT 10 CHECK (sample_interval_s > 0),
  status text NOT NULL DEFAULT 'unknown' CHECK (status IN ('unknown', 'online', 'offline')),
  status_reason text,
  status_changed_at timestamptz,
  last_seen_at timestamptz,
  clock_offset_ms integer,
  agent_version text,
  git_commit text,
  os_version text,
  last_status jsonb
);
CREATE INDEX nodes_site ON nodes (site_id);

CREATE TABLE enrollment_codes (
  code_hash text PRIMARY KEY,
  site_id uuid NOT NULL REFERENCES sites (id),
  node_name text,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  node_id uuid REFERENCES nodes (id)
);

CREATE TABLE equipment (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  node_id uuid NOT NULL REFERENCES nodes (id),
  key text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('inverter', 'meter', 'ct', 'battery', 'relay', 'plug', 'sensor', 'ev_charger')),
  vendor text,
  model text,
  serial text,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (node_id, key)
);

-- A series is one metric of one equipment of one node. Samples refer to it by a 4-byte id so the
-- narrow sample rows stay narrow (series_id, ts, value).
CREATE TABLE series (
  id serial PRIMARY KEY,
  node_id uuid NOT NULL REFERENCES nodes (id),
  site_id uuid NOT NULL REFERENCES sites (id),
  equipment text NOT NULL DEFAULT '',
  metric text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('power', 'energy', 'gauge', 'state')),
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (node_id, equipment, metric)
);
CREATE INDEX series_site ON series (site_id);

-- Raw samples, one partition per UTC day; retention drops whole partitions.
-- No foreign key to series: a per-row FK check would halve ingest speed, and series rows are
-- never deleted while their samples exist.
CREATE TABLE samples (
  series_id integer NOT NULL,
  ts timestamptz NOT NULL,
  value double precision NOT NULL,
  PRIMARY KEY (series_id, ts)
) PARTITION BY RANGE (ts);

CREATE TABLE rollup_hourly (
  series_id integer NOT NULL,
  bucket timestamptz NOT NULL,
  count integer NOT NULL,
  sum double precision NOT NULL,
  min double precision NOT NULL,
  max double precision NOT NULL,
  first double precision NOT NULL,
  last double precision NOT NULL,
  first_ts timestamptz NOT NULL,
  last_ts timestamptz NOT NULL,
  -- Power: integral in Wh. Energy counter: delta in Wh with resets handled. Otherwise null.
  energy_wh double precision,
  resets integer NOT NULL DEFAULT 0,
  PRIMARY KEY (series_id, bucket)
);

-- Daily buckets follow the site's local calendar day (23 h and 25 h on DST days).
CREATE TABLE rollup_daily (
  series_id integer NOT NULL,
  day date NOT NULL,
  bucket timestamptz NOT NULL,
  hours double precision NOT NULL,
  count integer NOT NULL,
  sum double precision NOT NULL,
  min double precision NOT NULL,
  max double precision NOT NULL,
  first double precision NOT NULL,
  last double precision NOT NULL,
  first_ts timestamptz NOT NULL,
  last_ts timestamptz NOT NULL,
  energy_wh double precision,
  resets integer NOT NULL DEFAULT 0,
  PRIMARY KEY (series_id, day)
);

-- Buckets touched by ingest since their last recomputation. Written in the ingest transaction,
-- so a committed batch always leaves its buckets marked.
CREATE TABLE rollup_dirty (
  series_id integer NOT NULL,
  resolution text NOT NULL CHECK (resolution IN ('hour', 'day')),
  bucket timestamptz NOT NULL,
  -- Bumped on every re-mark; the job deletes a row only if the generation it read is unchanged.
  generation bigint NOT NULL DEFAULT 1,
  marked_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (series_id, resolution, bucket)
);

-- Exactly-once: a batch id is recorded in the same transaction as its rows.
CREATE TABLE ingest_batches (
  node_id uuid NOT NULL,
  batch_id text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('telemetry', 'daily', 'events')),
  item_count integer NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (node_id, batch_id)
);
CREATE INDEX ingest_batches_received ON ingest_batches (received_at);

-- Nonces of signed node requests within the replay window.
CREATE TABLE request_nonces (
  node_id uuid NOT NULL,
  nonce text NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (node_id, nonce)
);
CREATE INDEX request_nonces_expiry ON request_nonces (expires_at);

CREATE TABLE node_events (
  id bigserial PRIMARY KEY,
  node_id uuid NOT NULL REFERENCES nodes (id),
  site_id uuid NOT NULL REFERENCES sites (id),
  ts timestamptz NOT NULL,
  kind text NOT NULL,
  severity text NOT NULL CHECK (severity IN ('info', 'warning', 'error', 'critical')),
  equipment text,
  message text NOT NULL,
  data jsonb,
  batch_id text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX node_events_node_ts ON node_events (node_id, ts);

-- Daily summaries as the device computed them, kept beside the hub's own for reconciliation.
CREATE TABLE daily_reports (
  node_id uuid NOT NULL REFERENCES nodes (id),
  site_id uuid NOT NULL REFERENCES sites (id),
  equipment text NOT NULL DEFAULT '',
  day date NOT NULL,
  "values" jsonb NOT NULL,
  batch_id text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (node_id, equipment, day)
);

CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  actor_type text NOT NULL CHECK (actor_type IN ('user', 'node', 'system', 'token', 'anonymous')),
  actor_id text,
  org_id uuid,
  action text NOT NULL,
  target_type text,
  target_id text,
  result text NOT NULL CHECK (result IN ('ok', 'denied', 'failed')),
  source_ip text,
  details jsonb
);
CREATE INDEX audit_log_at ON audit_log (at DESC);
CREATE INDEX audit_log_org_at ON audit_log (org_id, at DESC);
`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE audit_log, daily_reports, node_events, request_nonces, ingest_batches, rollup_dirty,
    rollup_daily, rollup_hourly, samples, series, equipment, enrollment_codes, nodes, sites, orgs`.execute(
    db,
  );
}
