// NATS authorization for the clustered broker tier (issue #16 item 2), the counterpart of
// mosquitto-files.ts: one user per active node, allowed only its own subjects, plus the hub.
// Nodes speak MQTT 3.1.1 to NATS's MQTT listener, which maps topic `nodes/X/telemetry` to
// subject `nodes.X.telemetry`, so the Mosquitto ACL `nodes/%u/#` becomes `nodes.<id>.>` here.
// The file is included by nats-server.conf (`include "auth.conf"`), replaced atomically and
// reloaded without a restart: nats-server reloads its configuration on SIGHUP (the same as
// `nats-server --signal reload`).
import { readFile, rename, writeFile } from 'node:fs/promises';

export interface NatsUser {
  /** Node id (= MQTT username). */
  id: string;
  /** A bcrypt hash (`$2a$…`, what nats-server accepts) or, in tests, a plain password. */
  password: string;
}

export interface NatsAuthFiles {
  authFile: string;
  /** Every local nats-server's `pid_file`; a changed file is followed by SIGHUP (reload) to each. */
  pidFiles?: readonly string[];
}

/** Node ids become subject tokens: no separators, wildcards or whitespace. */
const SUBJECT_TOKEN = /^[A-Za-z0-9_-]+$/;

function quoted(s: string): string {
  return JSON.stringify(s);
}

/**
 * `allowed_connection_types: MQTT` keeps node credentials off the core NATS port. Each node may
 * publish and subscribe on its own subjects (MQTT `nodes/X/#` also matches `nodes/X`, so NATS
 * subscribes to both `nodes.X` and `nodes.X.>`) and receive fleet broadcast (`hub.broadcast`), as with
 * Mosquitto's `pattern read hub/broadcast`. `$MQTT.sub.>` is where the server delivers a QoS 1
 * subscription's JetStream consumer to the client's own session (without it every QoS 1 SUBSCRIBE
 * is refused); the test checks a node cannot subscribe to it as an MQTT topic. The hub is a core NATS user with every node and hub
 * subject plus the JetStream API it needs for its durable pull consumer.
 */
export function natsAuthorization(
  nodes: readonly NatsUser[],
  hub: { username: string; password: string },
): string {
  const lines = [
    '# Managed by the Wattfleet hub: rewritten whenever nodes change. Do not edit.',
    'authorization {',
    '  users = [',
    `    { user: ${quoted(hub.username)}, password: ${quoted(hub.password)},`,
    '      permissions: { publish: ["nodes.>", "hub.>", "$JS.API.>", "$JS.ACK.>", "_INBOX.>"],',
    '                     subscribe: ["nodes.>", "hub.>", "_INBOX.>"] } }',
  ];
  for (const n of [...nodes].sort((a, b) => a.id.localeCompare(b.id))) {
    if (!SUBJECT_TOKEN.test(n.id)) throw new Error(`node id ${n.id} cannot be a NATS subject token`);
    lines.push(
      `    { user: ${quoted(n.id)}, password: ${quoted(n.password)}, allowed_connection_types: ["MQTT"],`,
      `      permissions: { publish: ["nodes.${n.id}", "nodes.${n.id}.>"],`,
      `                     subscribe: ["nodes.${n.id}", "nodes.${n.id}.>", "hub.broadcast", "$MQTT.sub.>"] } }`,
    );
  }
  lines.push('  ]', '}', '');
  return lines.join('\n');
}

async function readOrEmpty(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return '';
  }
}

/** Rewrites the auth file if its content changed and signals a reload; true when it changed. */
export async function syncNatsAuthFile(files: NatsAuthFiles, content: string): Promise<boolean> {
  if ((await readOrEmpty(files.authFile)) === content) return false;
  const tmp = `${files.authFile}.${process.pid}.tmp`;
  await writeFile(tmp, content, { mode: 0o640 });
  await rename(tmp, files.authFile);
  for (const pidFile of files.pidFiles ?? []) {
    const pid = Number((await readOrEmpty(pidFile)).trim());
    if (Number.isInteger(pid) && pid > 0) process.kill(pid, 'SIGHUP');
  }
  return true;
}
