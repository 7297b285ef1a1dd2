// Enrollment: a one-time, expiring code bound to a site (or to an existing node, to re-enroll it
// after a compromise) is exchanged for a node id and credentials shown once. A pending code can be
// revoked before anyone uses it.
import { type EnrollRequest, type EnrollResponse, WattfleetError } from '@wattfleet/protocol';
import { audit } from '../audit/audit.ts';
import { appSiteScope } from '../auth/access.ts';
import { type Actor, actorId } from '../auth/actor.ts';
import type { HubContext } from '../context.ts';
import { withTenant } from '../identity/tenant.ts';
import { hashEnrollmentCode, hashMqttPassword, newEnrollmentCode, newMqttPassword } from './credentials.ts';
import {
  insertEnrollmentCode,
  insertNode,
  lockCodeByHash,
  lockCodeById,
  markCodeRevoked,
  markCodeUsed,
  reenrollNode,
  replaceCredentials,
  setNodeActive as updateNodeActive,
} from './nodes.repository.ts';
import type { CodeAnswer, RevokedCode, RotateCredentialsAnswer } from './nodes.schema.ts';

export type NewEnrollmentCode = CodeAnswer;

/** Revoked before use (who and when are on the code and in the audit log). */
export function isRevoked(code: { revoked_at: Date | null }): boolean {
  return code.revoked_at !== null;
}

export async function createEnrollmentCode(
  hub: HubContext,
  actor: Actor,
  input: { siteId: string; nodeName?: string; ttlMinutes?: number; nodeId?: string },
  sourceIp?: string,
): Promise<NewEnrollmentCode> {
  const code = newEnrollmentCode();
  const expiresAt = new Date(Date.now() + (input.ttlMinutes ?? 24 * 60) * 60_000);
  await insertEnrollmentCode(hub.db, {
    codeHash: hashEnrollmentCode(code),
    siteId: input.siteId,
    nodeName: input.nodeName ?? null,
    createdBy: actor.kind === 'user' ? actor.userId : actor.kind,
    expiresAt,
    nodeId: input.nodeId ?? null,
  });
  await audit(hub.db, actor, {
    action: input.nodeId ? 'node.reenrollment_code.create' : 'enrollment_code.create',
    targetType: input.nodeId ? 'node' : 'site',
    targetId: input.nodeId ?? input.siteId,
    sourceIp,
    details: { expiresAt: expiresAt.toISOString() },
  });
  return { code, siteId: input.siteId, nodeId: input.nodeId ?? null, expiresAt: expiresAt.toISOString() };
}

/** Where the enrolling request came in, and the embedded broker's own address if it runs. */
export interface EnrollmentOrigin {
  /** Host name (or IP) the request was addressed to (Host header), without the port. */
  requestHost: string | undefined;
  /** mqtt://host:port of the embedded broker when this hub runs one (aedes); else undefined. */
  embeddedBrokerUrl: string | undefined;
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[?::1\]?)$/i;

/**
 * The broker address a node is told to use. The hub's own MQTT_URL is often loopback (the
 * documented Mosquitto layout), so it is handed out only to a node that reached the hub on
 * loopback too; MQTT_PUBLIC_URL says it outright; the embedded broker is on the host the node
 * already reached. undefined: none a node could use (the node keeps its own hub.mqttUrl).
 */
export function brokerUrlForNodes(hub: HubContext, origin: EnrollmentOrigin): string | undefined {
  const { config } = hub;
  if (config.mqttPublicUrl) return config.mqttPublicUrl;
  const host = origin.requestHost;
  if (!config.mqttUrl) {
    if (!origin.embeddedBrokerUrl || !host) return undefined;
    const { port, protocol } = new URL(origin.embeddedBrokerUrl);
    const bare = host.replace(/^\[|\]$/g, '');
    const tls = protocol === 'mqtts:';
    return `${tls ? 'mqtts' : 'mqtt'}://${bare.includes(':') ? `[${bare}]` : bare}:${port || (tls ? 8883 : 1883)}`;
  }
  const internal = LOOPBACK.test(new URL(config.mqttUrl).hostname);
  return !internal || (host && LOOPBACK.test(host)) ? config.mqttUrl : undefined;
}

export async function enrollNode(
  hub: HubContext,
  request: EnrollRequest,
  sourceIp: string | undefined,
  origin: EnrollmentOrigin = { requestHost: undefined, embeddedBrokerUrl: undefined },
): Promise<EnrollResponse> {
  const codeHash = hashEnrollmentCode(request.code);
  const password = newMqttPassword();
  const passwordHash = hashMqttPassword(password);
  const result = await hub.db.transaction().execute(async (trx) => {
    const code = await lockCodeByHash(trx, codeHash);
    const reason = !code
      ? 'unknown code'
      : code.used_at
        ? 'code already used'
        : isRevoked(code)
          ? 'code revoked'
          : code.expires_at.getTime() < Date.now()
            ? 'code expired'
            : undefined;
    if (!code || reason) return { error: reason ?? 'unknown code', siteId: code?.site_id };
    let nodeId: string;
    if (code.node_id) {
      // Re-enrollment replaces the credentials of an existing node and reactivates it.
      await reenrollNode(trx, code.node_id, {
        publicKey: request.publicKey,
        passwordHash,
        ...(request.pollIntervalS !== undefined ? { pollIntervalS: request.pollIntervalS } : {}),
      });
      nodeId = code.node_id;
    } else {
      nodeId = await insertNode(trx, {
        siteId: code.site_id,
        name: request.name ?? code.node_name ?? 'agent',
        publicKey: request.publicKey,
        passwordHash,
        agentVersion: request.agentVersion ?? null,
        // What completeness is measured against from the first day (heartbeats keep it current).
        sampleIntervalS: request.pollIntervalS ?? null,
      });
    }
    await markCodeUsed(trx, codeHash, nodeId);
    return { nodeId, siteId: code.site_id };
  });
  if ('error' in result) {
    await audit(hub.db, undefined, {
      action: 'node.enroll',
      result: 'denied',
      targetType: 'site',
      targetId: result.siteId ?? undefined,
      sourceIp,
      details: { reason: result.error },
    });
    throw new WattfleetError('WF_ENROLLMENT_INVALID', `Enrollment refused: ${result.error}`);
  }
  const brokerUrl = brokerUrlForNodes(hub, origin);
  const actor: Actor = { kind: 'node', nodeId: result.nodeId, siteId: result.siteId };
  await audit(hub.db, actor, {
    action: 'node.enroll',
    targetType: 'node',
    targetId: result.nodeId,
    sourceIp,
  });
  return {
    nodeId: result.nodeId,
    siteId: result.siteId,
    mqtt: { username: result.nodeId, password, ...(brokerUrl ? { url: brokerUrl } : {}) },
    hubTime: Date.now(),
  };
}

/**
 * Revokes a pending enrollment code (admins, and installers on sites they may change). Runs as the
 * tenant with write scope, so row-level security hides other tenants' codes as well; the row lock
 * orders it with a concurrent enrollment: exactly one of the two wins. A used, expired or already
 * revoked code answers 409 and stays as it is.
 */
export async function revokeEnrollmentCode(
  hub: HubContext,
  actor: Actor,
  codeId: string,
  sourceIp?: string,
): Promise<RevokedCode> {
  const scope = await appSiteScope(hub, actor, 'write');
  const result = await withTenant(
    hub,
    actor,
    async (trx) => {
      const code = await lockCodeById(trx, codeId);
      if (!code || (scope !== 'all' && !scope.includes(code.site_id))) return { missing: true as const };
      const refusal = code.used_at
        ? 'The code was already used by a node; deactivate the node instead'
        : isRevoked(code)
          ? 'The code is already revoked'
          : code.expires_at.getTime() <= Date.now()
            ? 'The code has already expired'
            : undefined;
      if (!refusal) await markCodeRevoked(trx, code.code_hash, actorId(actor));
      return { code, refusal };
    },
    'write',
  );
  if ('missing' in result) throw new WattfleetError('WF_NOT_FOUND', 'Enrollment code not found');
  const { code, refusal } = result;
  await audit(hub.db, actor, {
    action: 'enrollment_code.revoke',
    targetType: 'site',
    targetId: code.site_id,
    result: refusal ? 'failed' : 'ok',
    sourceIp,
    details: {
      codeId,
      nodeName: code.node_name,
      ...(code.node_id ? { nodeId: code.node_id } : {}),
      ...(refusal ? { reason: refusal } : {}),
    },
  });
  if (refusal) throw new WattfleetError('WF_CONFLICT', refusal);
  return { id: codeId, siteId: code.site_id, nodeName: code.node_name, state: 'revoked' };
}

export async function setNodeActive(
  hub: HubContext,
  actor: Actor,
  nodeId: string,
  active: boolean,
  sourceIp?: string,
): Promise<void> {
  if (!(await updateNodeActive(hub.db, nodeId, active)))
    throw new WattfleetError('WF_NOT_FOUND', 'Node not found');
  await audit(hub.db, actor, {
    action: active ? 'node.activate' : 'node.deactivate',
    targetType: 'node',
    targetId: nodeId,
    sourceIp,
  });
}

/** A node rotates its own key (signed with the old one) and receives a fresh MQTT password. */
export async function rotateOwnCredentials(
  hub: HubContext,
  nodeId: string,
  publicKey: string,
  sourceIp?: string,
): Promise<RotateCredentialsAnswer> {
  const password = newMqttPassword();
  const node = await replaceCredentials(hub.db, nodeId, publicKey, hashMqttPassword(password));
  await audit(
    hub.db,
    { kind: 'node', nodeId, siteId: node.siteId },
    {
      action: 'node.credentials.rotate',
      targetType: 'node',
      targetId: nodeId,
      sourceIp,
    },
  );
  return { mqtt: { username: nodeId, password } };
}
