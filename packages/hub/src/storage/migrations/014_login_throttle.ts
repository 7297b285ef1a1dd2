// Login throttling state, shared by every hub on the database: failed password attempts per
// account, per source address, and per (account, address) pair. The pair is what lets the
// rightful owner in while their account is being guessed at: only clients that have failed
// against the account wait out its delay. Not tenant data: the app role has no access.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
CREATE TABLE login_throttle (
  -- 'account:<email>', 'ip:<address>' or 'pair:<email>|<address>'
  key text PRIMARY KEY,
  failures integer NOT NULL CHECK (failures > 0),
  first_failure_at timestamptz NOT NULL,
  last_failure_at timestamptz NOT NULL
);
CREATE INDEX login_throttle_last ON login_throttle (last_failure_at);
`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE login_throttle`.execute(db);
}
