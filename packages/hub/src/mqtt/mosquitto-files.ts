// Mosquitto authentication and ACL files, generated from the database and kept in sync. The
// nodes' stored password hashes are already in Mosquitto's $7$ format, so they are copied as they
// are; only active nodes appear. Unified-namespace readers (uns/) are written the same way, each
// with a read-only rule for its own org's tree `wattfleet/v1/{org slug}/#`. After a change the
// files are replaced atomically and, when the pid file is known, Mosquitto is told to reload them
// with SIGHUP (see deploy/mosquitto/README.md).
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { Kysely } from 'kysely';
import { hashMqttPassword, verifyMqttPassword } from '../nodes/credentials.ts';
import type { DB } from '../storage/schema.ts';
import { activeReaders } from '../uns/uns.repository.ts';
import type { MosquittoFilesConfig } from './config.ts';

/**
 * Settings of the listener nodes dial in on (see deploy/mosquitto/mosquitto.conf). A password
 * file cannot bind a client id to a user, and a broker keeps one session per client id: a node
 * connecting with another node's id would take that session over (disconnect it, fire its last
 * will, receive its queued commands). `use_username_as_clientid` replaces whatever id a client
 * sends with its username (= node id), so every node only ever reaches its own session. The same
 * setting would fold the hub's own connections (one username, many client ids) into one, so the
 * hub connects through a separate loopback listener without it.
 */
export const MOSQUITTO_NODE_LISTENER_SETTINGS: readonly string[] = ['use_username_as_clientid true'];

/**
 * Broker-wide settings the hub's persistent ingest sessions need (see deploy/mosquitto/mosquitto.conf
 * and "Persistent ingest sessions" in docs/hub-configuration.md). While a hub is away
 * Mosquitto keeps queueing its share of the `$share` batches for its sessions — a disconnected
 * member stays in the round-robin — so each session's queue must hold its share of an outage:
 * fleet batches per second × outage seconds ÷ (hubs × MQTT_INGEST_CONNECTIONS), e.g. 10 000 nodes
 * at one batch per 10 s for one hour, one hub with 16 sessions: 225 000. Beyond the limit Mosquitto
 * drops ("Outgoing messages are being dropped"). `persistent_client_expiration` caps every
 * session's expiry, so it must not be shorter than MQTT_SESSION_EXPIRY_S (default one day).
 * `persistence true` (with a `persistence_location`) keeps sessions and queues across a broker
 * restart; a broker crash loses what arrived since the last autosave.
 */
export const MOSQUITTO_SESSION_SETTINGS: readonly string[] = [
  'max_queued_messages 250000',
  'max_queued_bytes 0',
  'persistent_client_expiration 14d',
  'autosave_interval 60',
];

export interface HubCredentials {
  username: string;
  password: string;
}

/**
 * `pattern` lines apply to every user wherever they stand, so they come first; `topic` lines
 * apply to the `user` above them (before any `user` line they would apply to anonymous clients
 * only, which is why the broadcast rule is a pattern too).
 */
/** A unified-namespace reader: its username and its org's slug. */
export interface UnsAclEntry {
  username: string;
  slug: string;
}

export function mosquittoAcl(hubUsername: string, readers: readonly UnsAclEntry[] = []): string {
  return [
    '# Managed by the Wattfleet hub: rewritten whenever nodes change. Do not edit.',
    '# Every node (username = node id) reads and writes only its own namespace.',
    'pattern readwrite nodes/%u/#',
    '# and receives fleet-wide announcements.',
    'pattern read hub/broadcast',
    '',
    '# The hub itself: every node topic (also through $share/… shared subscriptions) and broadcast.',
    `user ${hubUsername}`,
    'topic readwrite nodes/#',
    'topic readwrite hub/#',
    '# and publishes the unified namespace (nobody else may write there: no rule grants it).',
    'topic readwrite wattfleet/#',
    '',
    ...readers.flatMap((r) => [
      `# Unified-namespace reader of wattfleet/v1/${r.slug}/ (read only).`,
      `user ${r.username}`,
      `topic read wattfleet/v1/${r.slug}/#`,
      '',
    ]),
  ].join('\n');
}

async function readOrEmpty(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return '';
  }
}

async function writeAtomically(path: string, content: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, content, { mode: 0o640 });
  await rename(tmp, path);
}

export async function mosquittoPasswords(
  db: Kysely<DB>,
  hub: HubCredentials,
  existing: string,
): Promise<string> {
  // Keep the hub's current line when it still verifies, so an unchanged fleet means an unchanged file.
  const prefix = `${hub.username}:`;
  const current = existing.split('\n').find((l) => l.startsWith(prefix));
  const hubHash =
    current && verifyMqttPassword(hub.password, current.slice(prefix.length))
      ? current.slice(prefix.length)
      : hashMqttPassword(hub.password);
  const nodes = await db
    .selectFrom('nodes')
    .select(['id', 'mqtt_password_hash'])
    .where('active', '=', true)
    .where('mqtt_password_hash', 'is not', null)
    .orderBy('id')
    .execute();
  const readers = await activeReaders(db);
  const lines = [
    `${hub.username}:${hubHash}`,
    ...nodes.map((n) => `${n.id}:${n.mqtt_password_hash}`),
    ...readers.map((r) => `${r.username}:${r.password_hash}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** Rewrites the files if their content changed; returns true when Mosquitto needs a reload. */
export async function syncMosquittoFiles(
  db: Kysely<DB>,
  files: MosquittoFilesConfig,
  hub: HubCredentials,
): Promise<boolean> {
  const [oldPasswords, oldAcl] = await Promise.all([
    readOrEmpty(files.passwordFile),
    readOrEmpty(files.aclFile),
  ]);
  const passwords = await mosquittoPasswords(db, hub, oldPasswords);
  const acl = mosquittoAcl(hub.username, await activeReaders(db));
  let changed = false;
  if (passwords !== oldPasswords) {
    await writeAtomically(files.passwordFile, passwords);
    changed = true;
  }
  if (acl !== oldAcl) {
    await writeAtomically(files.aclFile, acl);
    changed = true;
  }
  if (changed && files.pidFile) {
    const pid = Number((await readOrEmpty(files.pidFile)).trim());
    if (Number.isInteger(pid) && pid > 0) process.kill(pid, 'SIGHUP');
  }
  return changed;
}
