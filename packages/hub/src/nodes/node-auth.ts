// Authentication of node HTTP requests by Ed25519 signature, with a ±5 min window and nonce
// replay protection. Applied to a route scope whose bodies arrive as raw bytes (the signature
// covers the exact bytes sent, gzip included), then decoded here before schema validation.

import type { KeyObject } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { publicKeyFromRaw, SIGNATURE_HEADERS, verifySignature, WattfleetError } from '@wattfleet/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { HubContext } from '../context.ts';
import type { NonceLedger } from './nonce-ledger.ts';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface CachedNode {
  key: KeyObject;
  siteId: string;
  active: boolean;
  at: number;
}

/** Node keys cached briefly: a deactivation reaches every hub within this time. */
const KEY_CACHE_MS = 5_000;

export class NodeKeyCache {
  private readonly entries = new Map<string, CachedNode>();
  constructor(private readonly hub: HubContext) {}

  async get(nodeId: string): Promise<CachedNode | undefined> {
    const hit = this.entries.get(nodeId);
    if (hit && Date.now() - hit.at < KEY_CACHE_MS) return hit;
    const row = await this.hub.db
      .selectFrom('nodes')
      .select(['public_key', 'site_id', 'active'])
      .where('id', '=', nodeId)
      .executeTakeFirst();
    if (!row?.public_key) {
      this.entries.delete(nodeId);
      return undefined;
    }
    const entry = {
      key: publicKeyFromRaw(row.public_key),
      siteId: row.site_id,
      active: row.active,
      at: Date.now(),
    };
    this.entries.set(nodeId, entry);
    return entry;
  }

  invalidate(nodeId: string): void {
    this.entries.delete(nodeId);
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    nodeKeys: NodeKeyCache;
    nonces: NonceLedger;
  }
}

/**
 * Registers, inside the calling scope, a raw-bytes body parser and a preValidation hook that
 * verifies the signature, refuses replays, gunzips and parses JSON, and sets request.actor.
 */
export function useNodeSignatures(scope: FastifyInstance, maxBodyBytes: number): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxBodyBytes }, (_req, body, done) => {
    done(null, body);
  });
  scope.addHook('preValidation', async (request) => {
    await authenticateNodeRequest(scope, request, maxBodyBytes);
  });
}

async function authenticateNodeRequest(app: FastifyInstance, request: FastifyRequest, maxBodyBytes: number) {
  const nodeId = request.headers[SIGNATURE_HEADERS.node];
  if (typeof nodeId !== 'string' || !UUID_RE.test(nodeId)) {
    throw new WattfleetError('WF_SIGNATURE_MISSING', 'x-wf-node header with the node id is required');
  }
  const raw = (request.body as Buffer | undefined) ?? Buffer.alloc(0);
  const node = await app.nodeKeys.get(nodeId);
  if (!node) throw new WattfleetError('WF_SIGNATURE_INVALID', 'Unknown node or node without a key');
  const check = verifySignature(node.key, request.method, request.url, request.headers, raw);
  if (!check.ok) {
    const code =
      check.reason === 'missing'
        ? 'WF_SIGNATURE_MISSING'
        : check.reason === 'expired'
          ? 'WF_SIGNATURE_EXPIRED'
          : 'WF_SIGNATURE_INVALID';
    throw new WattfleetError(code, check.detail);
  }
  if (!node.active) throw new WattfleetError('WF_NODE_INACTIVE');
  // Replay: the nonce may be used once within the window.
  const nonce = request.headers[SIGNATURE_HEADERS.nonce] as string;
  if (!(await app.nonces.use(nodeId, nonce))) throw new WattfleetError('WF_SIGNATURE_REPLAYED');

  request.actor = { kind: 'node', nodeId, siteId: node.siteId };
  request.body = await decodeBody(request, raw, maxBodyBytes);
}

async function decodeBody(request: FastifyRequest, raw: Buffer, maxBodyBytes: number): Promise<unknown> {
  if (raw.length === 0) return undefined;
  const encoding = (request.headers['content-encoding'] ?? 'identity').toLowerCase();
  let bytes = raw;
  if (encoding === 'gzip') {
    try {
      // A bounded output keeps a small gzip bomb from becoming a large allocation. Synchronous:
      // for bodies this size (≤ a few hundred KiB out) handing the work to the thread pool and
      // back costs more than inflating it here.
      bytes = gunzipSync(raw, { maxOutputLength: maxBodyBytes * 8 });
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
        throw new WattfleetError('WF_BODY_TOO_LARGE', 'Decompressed body is too large');
      }
      throw new WattfleetError('WF_BAD_GZIP');
    }
  } else if (encoding !== 'identity') {
    throw new WattfleetError('WF_UNSUPPORTED_MEDIA', `Unsupported content-encoding "${encoding}"`);
  }
  const type = request.headers['content-type'] ?? 'application/json';
  if (!type.startsWith('application/json')) {
    throw new WattfleetError('WF_UNSUPPORTED_MEDIA', 'Node requests must be application/json');
  }
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new WattfleetError('WF_BAD_JSON', `The body is not valid JSON: ${(err as Error).message}`);
  }
}
