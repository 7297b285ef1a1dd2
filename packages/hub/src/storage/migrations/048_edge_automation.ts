// Edge execution (issue 13.7). Every schedule and rule has exactly one executor: a row in
// automation_executors names the edge agent that runs it from its automation bundle (the hub's
// runners skip those); no row = the hub. Kept beside the schedules and rules tables rather than
// as a column of theirs: this migration is numbered before them, and on a new database it runs
// first (so no foreign key to them either; the services keep the rows in step).
// automation_bundles keeps every bundle compiled for a node (a version per node, what it held,
// the AUTOMATION_PUSH command and how it ended), so the hub knows what the node runs.
// edge_executions records who executed each run-log entry a node reported; its key (item,
// occurrence) is what makes an execution reported twice (a resent event batch, two hubs
// reading it) land in the run log once.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
CREATE TABLE automation_executors (
  item_kind text NOT NULL CHECK (item_kind IN ('schedule', 'rule')),
  item_id uuid NOT NULL,
  site_id uuid NOT NULL REFERENCES sites (id),
  node_id uuid NOT NULL REFERENCES nodes (id),
  reason text NOT NULL,
  assigned_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (item_kind, item_id)
);
CREATE INDEX automation_executors_node ON automation_executors (node_id);

CREATE TABLE automation_bundles (
  node_id uuid NOT NULL REFERENCES nodes (id),
  version integer NOT NULL CHECK (version >= 1),
  site_id uuid NOT NULL REFERENCES sites (id),
  digest text NOT NULL,
  bundle jsonb NOT NULL,
  command_id uuid REFERENCES commands (id),
  -- pending: sent, no answer yet; applied: the node runs it; refused: it never loaded (the node
  -- keeps its previous bundle); rolled_back: it loaded, failed its health check, the previous is
  -- back; failed: not delivered (expired) or another failure.
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'applied', 'refused', 'rolled_back', 'failed')),
  detail text,
  created_at timestamptz NOT NULL DEFAULT now(),
  settled_at timestamptz,
  PRIMARY KEY (node_id, version)
);
CREATE INDEX automation_bundles_command ON automation_bundles (command_id);

CREATE TABLE edge_executions (
  item_kind text NOT NULL CHECK (item_kind IN ('schedule', 'rule')),
  item_id uuid NOT NULL,
  due_at timestamptz NOT NULL,
  site_id uuid NOT NULL REFERENCES sites (id),
  node_id uuid NOT NULL REFERENCES nodes (id),
  item_version integer NOT NULL,
  bundle_version integer NOT NULL,
  outcome text NOT NULL,
  ran_at timestamptz NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (item_kind, item_id, due_at)
);
CREATE INDEX edge_executions_site ON edge_executions (site_id, due_at);
`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE edge_executions, automation_bundles, automation_executors`.execute(db);
}
