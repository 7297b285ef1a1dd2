// The CLI side of backup and restore: turns results into what the operator reads.
import type { HubConfig } from '../config.ts';
import { keyId, loadMasterKey } from '../secrets/master-key.ts';
import { backup } from './backup.ts';
import { SECRETS_KEY_REMINDER } from './manifest.ts';
import { restore } from './restore.ts';

export function positional(args: string[]): string | undefined {
  return args.find((a) => !a.startsWith('--'));
}

export async function backupCommand(config: HubConfig, dir: string): Promise<string> {
  const m = await backup({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }, dir);
  const rows = Object.values(m.tables).reduce((a, b) => a + b, 0);
  return [
    `backup written to ${dir}: ${m.engine}, schema ${m.schemaVersion ?? '(empty)'}, ${Object.keys(m.tables).length} tables, ${rows} rows, ${m.dump.bytes} bytes (sha256 ${m.dump.sha256.slice(0, 16)}…)`,
    '',
    `REMINDER: ${SECRETS_KEY_REMINDER}`,
  ].join('\n');
}

export async function restoreCommand(config: HubConfig, dir: string, force: boolean): Promise<string> {
  const r = await restore(
    dir,
    {
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      secretsKeyFile: config.secrets.keyFile,
      partitionsAheadDays: config.partitionsAheadDays,
    },
    force,
  );
  const lines = [
    `restored ${dir} (hub ${r.manifest.hubVersion}, schema ${r.manifest.schemaVersion ?? '(empty)'}, created ${r.manifest.createdAt}): ${Object.keys(r.manifest.tables).length} tables, ${r.rows} rows, counts match the manifest`,
    r.migrated.length ? `migrated forward: ${r.migrated.join(', ')}` : 'schema is up to date',
  ];
  // The key is not in the backup: say whether the configured one opens the restored secrets.
  if (r.manifest.secretsKeyIds.length) {
    let current: string | undefined;
    try {
      const k = loadMasterKey(config.secrets);
      current = k && keyId(k.key);
    } catch {}
    if (!current)
      lines.push(
        `WARNING: the restored vault holds secrets under key ${r.manifest.secretsKeyIds.join(', ')}, but no secrets key is configured: set WATTFLEET_SECRETS_KEY or WATTFLEET_SECRETS_KEY_FILE to the key kept with this backup`,
      );
    else if (!r.manifest.secretsKeyIds.includes(current))
      lines.push(
        `WARNING: the configured secrets key (${current}) is not the one the restored secrets are encrypted with (${r.manifest.secretsKeyIds.join(', ')}): the hub will not open them`,
      );
  }
  return lines.join('\n');
}
