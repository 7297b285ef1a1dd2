// Staged rollouts (issue 16.8). A rollout is a plan (target tag, rings, waits, health gate, halt
// threshold) that the hub executes ring by ring; every step is a row change here, so a hub that
// restarts mid-rollout (or another hub taking the job's lock) carries on from the database.
// rollout_nodes holds each selected node's ring and state; its site_id puts it under site RLS.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
CREATE TABLE rollouts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id uuid REFERENCES orgs (id),
  tag text NOT NULL,
  -- [{ "count": 1 } | { "percent": 10 }, …]: cumulative sizes, the last one reaches every node.
  rings jsonb NOT NULL,
  ring_wait_s integer NOT NULL CHECK (ring_wait_s >= 0),
  gate_s integer NOT NULL CHECK (gate_s >= 0),
  max_failure_rate double precision NOT NULL CHECK (max_failure_rate >= 0 AND max_failure_rate <= 1),
  state text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'paused', 'halted', 'aborted', 'completed')),
  current_ring integer NOT NULL DEFAULT 0,
  -- When every node of the current ring settled (the ring's wait starts then).
  ring_settled_at timestamptz,
  halt_reason text,
  created_by_type text NOT NULL,
  created_by_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rollouts_active ON rollouts (state) WHERE state IN ('running', 'paused');

CREATE TABLE rollout_nodes (
  rollout_id uuid NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
  node_id uuid NOT NULL REFERENCES nodes (id),
  site_id uuid NOT NULL REFERENCES sites (id),
  ring integer NOT NULL CHECK (ring >= 0),
  position integer NOT NULL,
  -- waiting: not started; updating: SELF_UPDATE sent; verifying: the agent said succeeded, the
  -- health gate runs; succeeded / failed: settled; skipped: never started (halt or abort).
  state text NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'updating', 'verifying', 'succeeded', 'failed', 'skipped')),
  command_id uuid REFERENCES commands (id),
  from_version text,
  reason text,
  started_at timestamptz,
  verify_since timestamptz,
  settled_at timestamptz,
  PRIMARY KEY (rollout_id, node_id)
);
CREATE INDEX rollout_nodes_ring ON rollout_nodes (rollout_id, ring, position);
CREATE INDEX rollout_nodes_command ON rollout_nodes (command_id);
`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE rollout_nodes, rollouts`.execute(db);
}
