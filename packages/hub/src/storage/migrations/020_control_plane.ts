// Control plane: commands with their state history, uploaded log chunks, and the index the
// offline sweep needs. Plain SQL, the same on PostgreSQL and PGlite.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
CREATE TABLE commands (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  node_id uuid NOT NULL REFERENCES nodes (id),
  site_id uuid NOT NULL REFERENCES sites (id),
  type text NOT NULL,
  args jsonb NOT NULL,
  state text NOT NULL DEFAULT 'pending'
    CHECK (state IN ('pending', 'delivered', 'running', 'succeeded', 'failed', 'expired', 'cancelled')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  -- Last time the envelope was handed to the broker (a node coming back gets it again).
  published_at timestamptz,
  created_by_type text NOT NULL,
  created_by_id text,
  result jsonb,
  error jsonb
);
CREATE INDEX commands_node_created ON commands (node_id, created_at DESC);
CREATE INDEX commands_site_created ON commands (site_id, created_at DESC);
-- Open commands only: what the expiry job and the redelivery on reconnect look at.
CREATE INDEX commands_open ON commands (node_id, expires_at) WHERE state IN ('pending', 'delivered', 'running');

CREATE TABLE command_transitions (
  id bigserial PRIMARY KEY,
  command_id uuid NOT NULL REFERENCES commands (id),
  from_state text,
  to_state text NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  source text NOT NULL CHECK (source IN ('actor', 'node', 'hub')),
  data jsonb
);
CREATE INDEX command_transitions_command ON command_transitions (command_id, id);

-- Log lines a node uploaded for FETCH_LOGS; one row per chunk, a resent chunk changes nothing.
CREATE TABLE node_log_chunks (
  node_id uuid NOT NULL REFERENCES nodes (id),
  upload_key text NOT NULL,
  command_id uuid,
  chunk integer NOT NULL,
  final boolean NOT NULL,
  lines jsonb NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (node_id, upload_key, chunk)
);

-- The offline sweep looks for online nodes whose last heartbeat is older than the timeout.
CREATE INDEX nodes_online_seen ON nodes (last_seen_at) WHERE status = 'online';
`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX nodes_online_seen; DROP TABLE node_log_chunks, command_transitions, commands`.execute(
    db,
  );
}
