// Runs pg_dump / pg_restore (PG_DUMP / PG_RESTORE override the binaries; default: from PATH).
// The password goes through PGPASSWORD, never the command line, where `ps` would show it.
import { spawn } from 'node:child_process';
import { BackupError } from './manifest.ts';

function connection(databaseUrl: string): { dbname: string; env: NodeJS.ProcessEnv } {
  const url = new URL(databaseUrl);
  const password = decodeURIComponent(url.password);
  url.password = '';
  return {
    dbname: url.toString(),
    env: { ...process.env, ...(password ? { PGPASSWORD: password } : {}) },
  };
}

async function run(tool: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const child = spawn(tool, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-8192);
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', (err) =>
      reject(
        new BackupError(
          `cannot run ${tool} (${(err as NodeJS.ErrnoException).code ?? err}); install the PostgreSQL client tools or set ${tool.includes('restore') ? 'PG_RESTORE' : 'PG_DUMP'}`,
        ),
      ),
    );
    child.once('close', resolve);
  });
  if (code !== 0) throw new BackupError(`${tool} failed (exit ${code}): ${stderr.trim()}`);
}

/** A custom-format dump of exactly the given exported snapshot (the counts were taken in it). */
export async function pgDump(databaseUrl: string, snapshot: string, file: string): Promise<void> {
  const { dbname, env } = connection(databaseUrl);
  await run(
    process.env.PG_DUMP || 'pg_dump',
    ['--format=custom', `--snapshot=${snapshot}`, '--no-password', `--file=${file}`, `--dbname=${dbname}`],
    env,
  );
}

/**
 * Restores in one transaction (a failure leaves the target as it was) and stops at the first
 * error. --no-owner: the restoring user owns the objects, so a hub whose database user differs
 * from the backed-up one can restore; grants to wattfleet_app (row-level security) are kept.
 */
export async function pgRestore(databaseUrl: string, file: string): Promise<void> {
  const { dbname, env } = connection(databaseUrl);
  await run(
    process.env.PG_RESTORE || 'pg_restore',
    ['--exit-on-error', '--single-transaction', '--no-owner', '--no-password', `--dbname=${dbname}`, file],
    env,
  );
}
