// SQL of the login throttle: one row per key (account, address, account+address pair) with its
// failure count and first/last failure times. The policy (what counts, what delays) is in
// login-throttle.ts.
import { type Kysely, sql } from 'kysely';
import type { DB } from '../storage/schema.ts';
import './schema.ts';

export function throttleRows(db: Kysely<DB>, keys: string[]) {
  return db.selectFrom('login_throttle').selectAll().where('key', 'in', keys).execute();
}

/**
 * One more failure on `key`. The count restarts at 1 when the row's `restartOn` time is before
 * `restartBefore` (a quiet period for accounts and pairs, a fixed window for addresses).
 */
export async function addFailure(
  db: Kysely<DB>,
  key: string,
  now: Date,
  restartOn: 'last_failure_at' | 'first_failure_at',
  restartBefore: Date,
): Promise<void> {
  const restart = sql<boolean>`${sql.ref(`login_throttle.${restartOn}`)} < ${restartBefore}`;
  await db
    .insertInto('login_throttle')
    .values({ key, failures: 1, first_failure_at: now, last_failure_at: now })
    .onConflict((oc) =>
      oc.column('key').doUpdateSet({
        failures: sql<number>`CASE WHEN ${restart} THEN 1 ELSE login_throttle.failures + 1 END`,
        first_failure_at: sql<Date>`CASE WHEN ${restart} THEN ${now} ELSE login_throttle.first_failure_at END`,
        last_failure_at: now,
      }),
    )
    .execute();
}

/**
 * A correct password from the pair `pairKey`: its own failures are taken off the pair and off
 * `sharedKeys` (the account and the address); rows older than `stale` are dropped.
 */
export async function forgivePair(
  db: Kysely<DB>,
  pairKey: string,
  sharedKeys: string[],
  stale: Date,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const pair = await trx
      .deleteFrom('login_throttle')
      .where('key', '=', pairKey)
      .returning('failures')
      .executeTakeFirst();
    const mine = pair?.failures ?? 0;
    if (mine > 0) {
      await trx
        .deleteFrom('login_throttle')
        .where('key', 'in', sharedKeys)
        .where('failures', '<=', mine)
        .execute();
      await trx
        .updateTable('login_throttle')
        .set({ failures: sql<number>`failures - ${mine}` })
        .where('key', 'in', sharedKeys)
        .execute();
    }
    // Housekeeping: nothing older than the memory is ever consulted again.
    await trx.deleteFrom('login_throttle').where('last_failure_at', '<', stale).execute();
  });
}
