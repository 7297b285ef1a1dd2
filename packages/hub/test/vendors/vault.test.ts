// The credential vault on both engines: AES-256-GCM with a fresh nonce per seal and the row id
// bound in; a hub refuses to start with a wrong or missing key (in-process and the real CLI);
// rotate-secrets-key (the real CLI) re-encrypts everything and the old key is then refused.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildHub } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { keyId, loadMasterKey, type MasterKey, parseKey } from '../../src/secrets/master-key.ts';
import { assertKeyMatches, rotateSecrets, Vault } from '../../src/secrets/vault.ts';
import { openDatabase } from '../../src/storage/database.ts';
import { migrate } from '../../src/storage/migrate.ts';
import { ENGINES, openTestDatabase, type TestDatabase } from '../helpers/engines.ts';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const master = (text: string): MasterKey => {
  const key = parseKey(text, 'test');
  return { key, id: keyId(key), source: 'env', generated: false };
};
const newKey = () => randomBytes(32).toString('base64');

for (const engine of ENGINES) {
  describe(`credential vault on ${engine}`, () => {
    let tdb: TestDatabase;
    const keyA = newKey();
    const vaultA = new Vault(master(keyA));
    before(async () => {
      tdb = await openTestDatabase(engine);
    });
    after(async () => tdb.drop());

    test('seals with a fresh nonce, stores no plaintext, and binds each ciphertext to its row', async () => {
      const db = tdb.database.db;
      const secret = { email: 'o@example.test', password: 'hunter2-plaintext' };
      const a = await vaultA.put(db, secret);
      const b = await vaultA.put(db, secret);
      assert.deepEqual(await vaultA.get(db, a), secret);
      const rows = await db.selectFrom('secrets').selectAll().where('id', 'in', [a, b]).execute();
      assert.equal(rows.length, 2);
      assert.notDeepEqual(rows[0]!.nonce, rows[1]!.nonce);
      assert.notDeepEqual(rows[0]!.ciphertext, rows[1]!.ciphertext);
      for (const r of rows) {
        assert.equal(r.nonce.length, 12);
        assert.equal(r.key_id, vaultA.keyId);
        assert.ok(!Buffer.from(r.ciphertext).includes('hunter2'));
      }
      // Row b's ciphertext pasted onto row a does not open: the row id is authenticated.
      await db
        .updateTable('secrets')
        .set({ nonce: rows[1]!.nonce, ciphertext: rows[1]!.ciphertext })
        .where('id', '=', rows[0]!.id)
        .execute();
      await assert.rejects(vaultA.get(db, rows[0]!.id), /unable to authenticate|Unsupported state/);
      await vaultA.replace(db, rows[0]!.id, secret);
      assert.deepEqual(await vaultA.get(db, rows[0]!.id), secret);
    });

    test('a hub refuses to start with a wrong key or without one, with a clear message', async () => {
      const db = tdb.database.db;
      const make = (key: string | undefined) =>
        buildHub({
          config: loadConfig(
            {},
            { secrets: { key, keyFile: undefined, generate: false }, logLevel: 'silent' },
          ),
          database: tdb.database,
          logger: false,
        });
      await assert.rejects(make(newKey()), (err: Error) => {
        assert.equal(err.name, 'SecretsKeyError');
        assert.match(err.message, /is not the key the stored vendor credentials were encrypted with/);
        assert.ok(!err.message.includes(keyA), 'the message never shows a key');
        return true;
      });
      await assert.rejects(make(undefined), /no secrets key is configured/);
      const ok = await make(keyA);
      await ok.close();
      await assertKeyMatches(db, master(keyA));
    });

    test('rotation re-encrypts every secret; the old key is refused afterwards', async () => {
      const db = tdb.database.db;
      const ids = (await db.selectFrom('secrets').select('id').execute()).map((r) => r.id);
      const before = await Promise.all(ids.map((id) => vaultA.get(db, id)));
      const keyB = newKey();
      const n = await rotateSecrets(db, master(keyA), master(keyB));
      assert.equal(n, ids.length);
      const vaultB = new Vault(master(keyB));
      assert.deepEqual(await Promise.all(ids.map((id) => vaultB.get(db, id))), before);
      await assert.rejects(assertKeyMatches(db, master(keyA)), /not the key/);
      await assert.rejects(vaultA.get(db, ids[0]!), /not the key/);
    });
  });
}

describe('rotate-secrets-key and the start refusal through the real CLI', () => {
  test('key file (embedded): generated on first use, rotated in place, old key refused at start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wf-vault-'));
    try {
      const cfg = loadConfig({ WATTFLEET_DATA_DIR: dir });
      const database = await openDatabase({ dataDir: dir });
      await migrate(database);
      const first = loadMasterKey(cfg.secrets, { create: true })!;
      assert.equal(first.generated, true);
      assert.equal(first.path, join(dir, 'secrets.key'));
      const id = await new Vault(first).put(database.db, { password: 'file-mode-secret' });
      await database.close();
      const oldText = readFileSync(first.path!, 'utf8');

      const env = { ...process.env, WATTFLEET_DATA_DIR: dir, DATABASE_URL: '', WATTFLEET_SECRETS_KEY: '' };
      const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'rotate-secrets-key'], {
        env,
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /re-encrypted 1 secret\(s\)/);
      const rotated = loadMasterKey(cfg.secrets)!;
      assert.notEqual(rotated.id, first.id);
      assert.notEqual(readFileSync(first.path!, 'utf8'), oldText);
      const reopened = await openDatabase({ dataDir: dir });
      assert.deepEqual(await new Vault(rotated).get(reopened.db, id), { password: 'file-mode-secret' });
      await reopened.close();

      // The old key given explicitly: `start` refuses with the message, not a stack trace.
      const start = spawnSync(process.execPath, ['--import', 'tsx', CLI, 'start'], {
        env: {
          ...env,
          WATTFLEET_SECRETS_KEY: oldText.trim(),
          PORT: '0',
          MQTT_PORT: '0',
          WATTFLEET_DEMO: '0',
        },
        encoding: 'utf8',
        timeout: 120_000,
      });
      assert.notEqual(start.status, 0);
      assert.match(start.stderr, /^wattfleet-hub: The secrets key \(key id \w+\) is not the key/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
