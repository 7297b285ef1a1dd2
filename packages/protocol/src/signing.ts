// Node request signing. A node signs method, path, timestamp, nonce and a digest of the exact
// body bytes it sends with its Ed25519 key; the hub stores only the public key, so a reader of
// the hub's database cannot impersonate a node.

import type { KeyObject } from 'node:crypto';
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  verify,
} from 'node:crypto';

export const SIGNATURE_HEADERS = {
  node: 'x-wf-node',
  timestamp: 'x-wf-timestamp',
  nonce: 'x-wf-nonce',
  signature: 'x-wf-signature',
} as const;

/**
 * Every answer to a signed request carries the hub's clock (epoch ms) here, so a node can measure
 * its own offset, and see why it is refused when it is outside the window.
 */
export const HUB_TIME_HEADER = 'x-wf-hub-time';

/** Requests whose timestamp is further than this from the hub's clock are refused. */
export const SIGNATURE_WINDOW_MS = 5 * 60_000;

export interface NodeKeyPair {
  /** base64url raw public key (43 chars): what the hub stores. */
  publicKey: string;
  /** PKCS#8 PEM: stays on the node. */
  privateKeyPem: string;
}

export function generateNodeKeyPair(): NodeKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const jwk = publicKey.export({ format: 'jwk' });
  return {
    publicKey: jwk.x as string,
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
  };
}

export function publicKeyFromRaw(x: string): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
}

export function privateKeyFromPem(pem: string): KeyObject {
  return createPrivateKey(pem);
}

export function bodyDigest(body: Uint8Array | string): string {
  return createHash('sha256').update(body).digest('hex');
}

export function canonicalString(
  method: string,
  path: string,
  timestamp: string,
  nonce: string,
  digest: string,
) {
  return `WF1\n${method.toUpperCase()}\n${path}\n${timestamp}\n${nonce}\n${digest}`;
}

/** Headers to add to a request. `path` includes the query string, exactly as sent. */
export function signRequest(
  key: KeyObject,
  nodeId: string,
  method: string,
  path: string,
  body: Uint8Array | string,
  now = Date.now(),
): Record<string, string> {
  const timestamp = String(now);
  const nonce = randomBytes(16).toString('hex');
  const data = canonicalString(method, path, timestamp, nonce, bodyDigest(body));
  const signature = sign(null, Buffer.from(data), key).toString('base64');
  return {
    [SIGNATURE_HEADERS.node]: nodeId,
    [SIGNATURE_HEADERS.timestamp]: timestamp,
    [SIGNATURE_HEADERS.nonce]: nonce,
    [SIGNATURE_HEADERS.signature]: signature,
  };
}

/** `offsetMs` = the request's timestamp − the hub's clock; with 'expired' the signature itself verified. */
export type SignatureCheck =
  | { ok: true; offsetMs: number }
  | { ok: false; reason: 'missing' | 'invalid'; detail: string }
  | { ok: false; reason: 'expired'; detail: string; offsetMs: number };

/**
 * Checks format, signature, then window; replay (nonce reuse) is the caller's job, it needs storage.
 * The signature is checked before the window so that 'expired' means "this node, with its clock
 * off": the hub can then tell the node its time instead of just refusing it.
 */
export function verifySignature(
  key: KeyObject,
  method: string,
  path: string,
  headers: Record<string, string | string[] | undefined>,
  body: Uint8Array | string,
  now = Date.now(),
): SignatureCheck {
  const ts = headers[SIGNATURE_HEADERS.timestamp];
  const nonce = headers[SIGNATURE_HEADERS.nonce];
  const sig = headers[SIGNATURE_HEADERS.signature];
  if (typeof ts !== 'string' || typeof nonce !== 'string' || typeof sig !== 'string') {
    return {
      ok: false,
      reason: 'missing',
      detail: 'x-wf-timestamp, x-wf-nonce and x-wf-signature are required',
    };
  }
  if (!/^\d{13}$/.test(ts))
    return { ok: false, reason: 'invalid', detail: 'x-wf-timestamp must be epoch ms' };
  if (!/^[0-9a-f]{16,64}$/.test(nonce))
    return { ok: false, reason: 'invalid', detail: 'x-wf-nonce must be hex' };
  const data = canonicalString(method, path, ts, nonce, bodyDigest(body));
  let good = false;
  try {
    good = verify(null, Buffer.from(data), key, Buffer.from(sig, 'base64'));
  } catch {
    good = false;
  }
  if (!good) return { ok: false, reason: 'invalid', detail: 'signature does not match the request' };
  const offsetMs = Number(ts) - now;
  if (Math.abs(offsetMs) > SIGNATURE_WINDOW_MS) {
    return {
      ok: false,
      reason: 'expired',
      detail: `timestamp is ${Math.round(Math.abs(offsetMs) / 1000)} s from hub time`,
      offsetMs,
    };
  }
  return { ok: true, offsetMs };
}
