// The node's identity: its id, its Ed25519 private key and its MQTT password. Stored in one file
// readable only by the agent's user (0600), written atomically so a crash never leaves half a key.
import type { KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { privateKeyFromPem } from '@wattfleet/protocol';

export interface NodeIdentity {
  nodeId: string;
  siteId: string;
  /** The name given at enrollment (`enroll --name`), shown on the local dashboard. */
  name?: string;
  hubUrl: string;
  publicKey: string;
  privateKeyPem: string;
  mqtt: { username: string; password: string; url?: string };
  enrolledAt: string;
}

export function loadIdentity(path: string): NodeIdentity | undefined {
  if (!existsSync(path)) return undefined;
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as NodeIdentity;
  if (!parsed.nodeId || !parsed.privateKeyPem) throw new Error(`identity file ${path} is incomplete`);
  return parsed;
}

export function saveIdentity(path: string, identity: NodeIdentity): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  // mode applies at creation, so the secret is never readable by others, not even for an instant.
  writeFileSync(tmp, `${JSON.stringify(identity, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

export function signingKey(identity: NodeIdentity): KeyObject {
  return privateKeyFromPem(identity.privateKeyPem);
}
