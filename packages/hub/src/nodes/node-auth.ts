// Authentication of node HTTP requests by Ed25519 signature, with a ±5 min window and nonce
// replay protection. Applied to a route scope whose bodies arrive as raw bytes (the signature
// covers the exact bytes sent, gzip included), then decoded here before schema validation.
// Every answer carries the hub's clock; a request signed correctly but outside the window is
// still refused, and also recorded on the node (clock_skew alert), so a node with a wrong clock
// is seen instead of being refused forever in silence.

import type { KeyObject } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import {
  HUB_TIME_HEADER,
  publicKeyFromRaw,
  SIGNATURE_HEADERS,
  verifySignature,
  WattfleetError,
} from '@wattfleet/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { HubContext } from '../context.ts';
import {
  clearClockSkew,
  insertHubNodeEvent,
  nodeKeyRow,
  recordClockSkew,
  writeClockOffset,
} from './nodes.repository.ts';
import type { NonceLedger } from './nonce-ledger.ts';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface CachedNode {
  key: KeyObject;
  siteId: string;
  active: boolean;
  /** A refusal for clock skew is on record (cleared by the next request inside the window). */
  skewed: boolean;
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
    const row = await nodeKeyRow(this.hub.db, nodeId);
    if (!row?.public_key) {
      this.entries.delete(nodeId);
      return undefined;
    }
    const entry = {
      key: publicKeyFromRaw(row.public_key),
      siteId: row.site_id,
      active: row.active,
      skewed: row.clock_skew_at !== null,
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

/** The OpenAPI security scheme of node-signed routes (described in nodes/signing-docs.ts). */
export const NODE_SIGNATURE_SCHEME = 'nodeSignature';

/**
 * Registers, inside the calling scope, a raw-bytes body parser and a preValidation hook that
 * verifies the signature, refuses replays, gunzips and parses JSON, and sets request.actor.
 * Routes of the scope are documented as needing the node signature.
 */
export function useNodeSignatures(scope: FastifyInstance, maxBodyBytes: number): void {
  scope.addHook('onRoute', (route) => {
    if (route.schema) route.schema.security ??= [{ [NODE_SIGNATURE_SCHEME]: [] }];
  });
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxBodyBytes }, (_req, body, done) => {
    done(null, body);
  });
  const clocks = new NodeClocks(scope);
  scope.addHook('preValidation', async (request) => {
    await authenticateNodeRequest(scope, clocks, request, maxBodyBytes);
  });
  // Refusals included: a node whose clock is off learns the hub's time from the answer.
  scope.addHook('onSend', async (_request, reply) => {
    reply.header(HUB_TIME_HEADER, String(Date.now()));
  });
}

/** int4 column: a clock decades off still fits (as in the heartbeat's clock_offset_ms). */
const clampMs = (ms: number) => Math.max(-2_000_000_000, Math.min(2_000_000_000, Math.round(ms)));
/** A node's offset measured over HTTP is written at most this often (the heartbeat does it too). */
const OFFSET_WRITE_MS = 60_000;
/** Repeated refusals of the same skewed node refresh its record at most this often. */
const SKEW_WRITE_MS = 60_000;

/**
 * Clock offsets seen on signed requests. Written sparingly (the uplink signs a request a second),
 * as nodes.clock_offset_ms (the clock_drift rule) and, for refusals, clock_skew_at/_ms plus a node
 * event that wakes the alert rules (clock_skew).
 */
class NodeClocks {
  private readonly offsetWrittenAt = new Map<string, number>();
  constructor(private readonly app: FastifyInstance) {}

  private get hub(): HubContext {
    return this.app.hub;
  }

  async measured(nodeId: string, siteId: string, offsetMs: number, skewed: boolean): Promise<void> {
    const now = Date.now();
    if (skewed) {
      // The skew record is what clears the clock_skew alert: clear it on the first good request.
      const cleared = await clearClockSkew(this.hub.db, nodeId, clampMs(offsetMs));
      this.app.nodeKeys.invalidate(nodeId);
      if (cleared) await this.event(nodeId, siteId, now, 'node.clock_ok', 'info', offsetMs);
      this.offsetWrittenAt.set(nodeId, now);
      return;
    }
    if (now - (this.offsetWrittenAt.get(nodeId) ?? 0) < OFFSET_WRITE_MS) return;
    this.offsetWrittenAt.set(nodeId, now);
    await writeClockOffset(this.hub.db, nodeId, clampMs(offsetMs));
  }

  async refused(nodeId: string, siteId: string, offsetMs: number): Promise<void> {
    const now = Date.now();
    const row = await recordClockSkew(this.hub.db, nodeId, clampMs(offsetMs), now, SKEW_WRITE_MS);
    this.app.nodeKeys.invalidate(nodeId);
    if (row) await this.event(nodeId, siteId, now, 'node.clock_skew', 'warning', offsetMs);
  }

  private async event(
    nodeId: string,
    siteId: string,
    now: number,
    kind: string,
    severity: 'info' | 'warning',
    offsetMs: number,
  ): Promise<void> {
    await insertHubNodeEvent(this.hub.db, {
      nodeId,
      siteId,
      now,
      kind,
      severity,
      message:
        kind === 'node.clock_skew'
          ? `Signed request refused: node clock is ${Math.round(offsetMs / 1000)} s off the hub's`
          : 'Node clock back inside the signature window',
      data: { offsetMs },
    });
    this.hub.bus.emitEvent('node.events', { nodeId, siteId, count: 1 });
  }
}

async function authenticateNodeRequest(
  app: FastifyInstance,
  clocks: NodeClocks,
  request: FastifyRequest,
  maxBodyBytes: number,
) {
  const nodeId = request.headers[SIGNATURE_HEADERS.node];
  if (typeof nodeId !== 'string' || !UUID_RE.test(nodeId)) {
    throw new WattfleetError('WF_SIGNATURE_MISSING', 'x-wf-node header with the node id is required');
  }
  // The scope's parser hands the body over as the bytes received (nothing when there was none).
  const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  const node = await app.nodeKeys.get(nodeId);
  if (!node) throw new WattfleetError('WF_SIGNATURE_INVALID', 'Unknown node or node without a key');
  const check = verifySignature(node.key, request.method, request.url, request.headers, raw);
  if (!check.ok) {
    if (check.reason === 'expired') {
      // Authentic, only late or early: this node's clock is off. Refused (a replay window is only
      // as good as its bound), but recorded, and answered with the hub's time.
      if (node.active) await clocks.refused(nodeId, node.siteId, check.offsetMs);
      throw new WattfleetError('WF_SIGNATURE_EXPIRED', check.detail, undefined, {
        hubTime: Date.now(),
        offsetMs: check.offsetMs,
      });
    }
    throw new WattfleetError(
      check.reason === 'missing' ? 'WF_SIGNATURE_MISSING' : 'WF_SIGNATURE_INVALID',
      check.detail,
    );
  }
  if (!node.active) throw new WattfleetError('WF_NODE_INACTIVE');
  // Replay: the nonce may be used once within the window.
  const nonce = request.headers[SIGNATURE_HEADERS.nonce];
  if (typeof nonce !== 'string' || !(await app.nonces.use(nodeId, nonce)))
    throw new WattfleetError('WF_SIGNATURE_REPLAYED');
  // Drift on HTTP too (not only from MQTT heartbeats): a node that never speaks MQTT is watched.
  await clocks.measured(nodeId, node.siteId, check.offsetMs, node.skewed);

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
      if (err instanceof Error && 'code' in err && err.code === 'ERR_BUFFER_TOO_LARGE') {
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
    throw new WattfleetError(
      'WF_BAD_JSON',
      `The body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}
