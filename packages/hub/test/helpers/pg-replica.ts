// A PostgreSQL 15 primary and its streaming hot-standby replica on free loopback ports, for the
// read-replica tests. The shared server on 5432 allows no replication connections, so this starts
// its own pair: initdb (trust, so its default pg_hba admits replication from 127.0.0.1), then
// pg_basebackup -R for the standby. Both run as the `postgres` OS user (postgres refuses root),
// with their data in one temporary directory that stop() removes.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../mqtt/mosquitto.ts';

const run = promisify(execFile);
export const PG_BIN = process.env.WATTFLEET_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const asRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL tool as the postgres OS user when we are root (postgres will not run as root). */
async function pgTool(tool: string, args: string[]): Promise<void> {
  const bin = join(PG_BIN, tool);
  if (asRoot) await run('runuser', ['-u', 'postgres', '--', bin, ...args], { timeout: 60_000 });
  else await run(bin, args, { timeout: 60_000 });
}

export interface ReplicaPair {
  primaryUrl: string;
  replicaUrl: string;
  /** Runs one statement on the primary or the replica (as the superuser). */
  query<R extends pg.QueryResultRow>(on: 'primary' | 'replica', text: string): Promise<R[]>;
  /** Resolves once the replica has replayed everything the primary wrote so far. */
  caughtUp(): Promise<void>;
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  stop(): Promise<void>;
}

export async function startReplicaPair(): Promise<ReplicaPair> {
  const dir = mkdtempSync(join(tmpdir(), 'wf-replica-'));
  if (asRoot) await run('chown', ['postgres:postgres', dir]);
  const primaryDir = join(dir, 'primary');
  const replicaDir = join(dir, 'replica');
  const [primaryPort, replicaPort] = [await freePort(), await freePort()];
  const started: string[] = [];
  const opts = (port: number) =>
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c wal_level=replica -c max_wal_senders=4 -c shared_buffers=32MB`;
  const stop = async () => {
    for (const d of started.reverse())
      await pgTool('pg_ctl', ['-D', d, '-m', 'immediate', '-w', 'stop']).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await pgTool('initdb', ['-D', primaryDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    await pgTool('pg_ctl', [
      '-D',
      primaryDir,
      '-l',
      join(dir, 'primary.log'),
      '-o',
      opts(primaryPort),
      '-w',
      'start',
    ]);
    started.push(primaryDir);
    await pgTool('pg_basebackup', [
      '-h',
      '127.0.0.1',
      '-p',
      String(primaryPort),
      '-U',
      'postgres',
      '-D',
      replicaDir,
      '-R',
      '-X',
      'stream',
      '--no-sync',
    ]);
    await pgTool('pg_ctl', [
      '-D',
      replicaDir,
      '-l',
      join(dir, 'replica.log'),
      '-o',
      opts(replicaPort),
      '-w',
      'start',
    ]);
    started.push(replicaDir);
  } catch (err) {
    await stop();
    throw err;
  }
  const primaryUrl = `postgres://postgres@127.0.0.1:${primaryPort}/postgres`;
  const replicaUrl = `postgres://postgres@127.0.0.1:${replicaPort}/postgres`;
  const query = async <R extends pg.QueryResultRow>(on: 'primary' | 'replica', text: string) => {
    const c = new pg.Client({ connectionString: on === 'primary' ? primaryUrl : replicaUrl });
    await c.connect();
    try {
      return (await c.query<R>(text)).rows;
    } finally {
      await c.end();
    }
  };
  const pair: ReplicaPair = {
    primaryUrl,
    replicaUrl,
    query,
    caughtUp: async () => {
      const [current] = await query<{ lsn: string }>('primary', 'SELECT pg_current_wal_lsn()::text AS lsn');
      const lsn = current?.lsn;
      if (!lsn) throw new Error('no WAL position on the primary');
      // Replication is asynchronous: poll (no fixed wait) until the standby replayed that far.
      for (let i = 0; ; i++) {
        const [r] = await query<{ ok: boolean }>(
          'replica',
          `SELECT pg_last_wal_replay_lsn() >= '${lsn}'::pg_lsn AS ok`,
        );
        if (r?.ok) return;
        if (i > 600) throw new Error(`replica did not reach ${lsn}`);
        await new Promise((res) => setTimeout(res, 50));
      }
    },
    pauseReplay: async () => {
      await query('replica', 'SELECT pg_wal_replay_pause()');
      for (let i = 0; ; i++) {
        const [r] = await query<{ s: string }>('replica', 'SELECT pg_get_wal_replay_pause_state() AS s');
        if (r?.s === 'paused') return;
        if (i > 600) throw new Error('replica replay did not pause');
        await new Promise((res) => setTimeout(res, 20));
      }
    },
    resumeReplay: async () => {
      await query('replica', 'SELECT pg_wal_replay_resume()');
    },
    stop,
  };
  return pair;
}
