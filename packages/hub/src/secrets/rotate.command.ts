// `wattfleet-hub rotate-secrets-key`: re-encrypts every stored secret under a new master key in
// one transaction. The new key comes from WATTFLEET_NEW_SECRETS_KEY, or (key-file setups only) is
// generated and written to the key file: first beside it as <file>.new, swapped in after the
// commit, so a failure at any point leaves a key that opens what the database holds.
// Hubs keep their key in memory: the command refuses while a hub holds vendor leases.
import { existsSync, renameSync, rmSync } from 'node:fs';
import { sql } from 'kysely';
import type { HubConfig } from '../config.ts';
import { openDatabase } from '../storage/database.ts';
import {
  keyId,
  loadMasterKey,
  type MasterKey,
  newKeyText,
  parseKey,
  SecretsKeyError,
  writeKeyFile,
} from './master-key.ts';
import { rotateSecrets } from './vault.ts';

export async function rotateSecretsKeyCommand(
  config: HubConfig,
  env: NodeJS.ProcessEnv,
  force: boolean,
): Promise<string> {
  const current = loadMasterKey(config.secrets);
  if (!current)
    throw new SecretsKeyError(
      'No current secrets key: set WATTFLEET_SECRETS_KEY or WATTFLEET_SECRETS_KEY_FILE',
    );
  const givenNew = env.WATTFLEET_NEW_SECRETS_KEY;
  if (current.source === 'env' && !givenNew) {
    throw new SecretsKeyError(
      'The current key comes from WATTFLEET_SECRETS_KEY: put the new key in WATTFLEET_NEW_SECRETS_KEY (then start the hubs with it as WATTFLEET_SECRETS_KEY)',
    );
  }
  const text = givenNew ?? newKeyText();
  const nextKey = parseKey(text, givenNew ? 'WATTFLEET_NEW_SECRETS_KEY' : 'the new key');
  const next: MasterKey = { key: nextKey, id: keyId(nextKey), source: current.source, generated: false };
  if (next.id === current.id) throw new SecretsKeyError('The new key is the current key');

  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const pending = current.source === 'file' && current.path ? `${current.path}.new` : undefined;
  try {
    if (!force) {
      const { rows } = await sql<{ n: number }>`
        SELECT count(*)::int AS n FROM vendor_accounts WHERE lease_until > now()`.execute(database.db);
      if ((rows[0]?.n ?? 0) > 0) {
        throw new SecretsKeyError(
          'Hubs are running (they hold vendor leases) and keep the old key in memory: stop them first, or pass --force',
        );
      }
    }
    if (pending) writeKeyFile(pending, text);
    const n = await rotateSecrets(database.db, current, next);
    if (pending && current.path) renameSync(pending, current.path);
    return `re-encrypted ${n} secret(s): key id ${current.id} → ${next.id}${current.path ? ` (key file ${current.path} replaced)` : ''}`;
  } catch (err) {
    if (pending && existsSync(pending)) rmSync(pending);
    throw err;
  } finally {
    await database.close();
  }
}
