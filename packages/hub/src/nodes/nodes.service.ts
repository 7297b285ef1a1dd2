// Nodes as the API sees them: who may create and revoke enrollment codes, activate, deactivate and
// read a node (checked in code, row-level security again in the tenant transactions), and the
// shape the answers have. Enrollment itself is in enrollment.service.ts; SQL in nodes.repository.ts.
import { type EnrollRequest, type EnrollResponse, WattfleetError } from '@wattfleet/protocol';
import { assertNodeAccess, assertSiteAccess } from '../auth/access.ts';
import { type Actor, isFleetAdmin } from '../auth/actor.ts';
import type { HubContext } from '../context.ts';
import { withTenant } from '../identity/tenant.ts';
import { controlPlaneConfig } from '../mqtt/config.ts';
import {
  createEnrollmentCode,
  type EnrollmentOrigin,
  enrollNode,
  revokeEnrollmentCode,
  rotateOwnCredentials,
  setNodeActive,
} from './enrollment.service.ts';
import type { NodeKeyCache } from './node-auth.ts';
import { getNode } from './nodes.repository.ts';
import type { CodeAnswer, CodeBody, NodeInfo, RevokedCode, RotateCredentialsAnswer } from './nodes.schema.ts';

const iso = (d: Date | string) => new Date(d).toISOString();

/** Admins and installers create, list and revoke enrollment codes. */
export function managesEnrollment(actor: Actor): boolean {
  return isFleetAdmin(actor) || (actor.kind === 'user' && actor.role === 'installer');
}

export class NodeService {
  constructor(
    private readonly hub: HubContext,
    private readonly keys: NodeKeyCache,
  ) {}

  enroll(request: EnrollRequest, sourceIp: string, origin: EnrollmentOrigin): Promise<EnrollResponse> {
    return enrollNode(this.hub, request, sourceIp, origin);
  }

  async createCode(actor: Actor, siteId: string, body: CodeBody, sourceIp: string): Promise<CodeAnswer> {
    await assertSiteAccess(this.hub, actor, siteId, 'write');
    if (actor.kind === 'user' && !['admin', 'installer'].includes(actor.role))
      throw new WattfleetError('WF_FORBIDDEN');
    return createEnrollmentCode(this.hub, actor, { siteId, ...body }, sourceIp);
  }

  revokeCode(actor: Actor, codeId: string, sourceIp: string): Promise<RevokedCode> {
    // The same people who create codes may revoke them.
    if (!managesEnrollment(actor))
      throw new WattfleetError('WF_FORBIDDEN', 'Only admins and installers manage enrollment codes');
    return revokeEnrollmentCode(this.hub, actor, codeId, sourceIp);
  }

  async reenrollmentCode(actor: Actor, nodeId: string, sourceIp: string): Promise<CodeAnswer> {
    const node = await assertNodeAccess(this.hub, actor, nodeId, 'write');
    if (!managesEnrollment(actor)) throw new WattfleetError('WF_FORBIDDEN');
    return createEnrollmentCode(this.hub, actor, { siteId: node.site_id, nodeId }, sourceIp);
  }

  async setActive(
    actor: Actor,
    nodeId: string,
    active: boolean,
    sourceIp: string,
  ): Promise<{ id: string; active: boolean }> {
    await assertNodeAccess(this.hub, actor, nodeId, 'write');
    if (!isFleetAdmin(actor)) throw new WattfleetError('WF_FORBIDDEN');
    await setNodeActive(this.hub, actor, nodeId, active, sourceIp);
    this.keys.invalidate(nodeId);
    return { id: nodeId, active };
  }

  async get(actor: Actor, nodeId: string): Promise<NodeInfo> {
    await assertNodeAccess(this.hub, actor, nodeId);
    const { offlineAfterS } = controlPlaneConfig(this.hub.config);
    // Read again as the tenant: row-level security is the second fence.
    const node = await withTenant(this.hub, actor, (trx) => getNode(trx, nodeId, offlineAfterS));
    if (!node) throw new WattfleetError('WF_NOT_FOUND', 'Node not found');
    return {
      ...node,
      last_seen_at: node.last_seen_at ? iso(node.last_seen_at) : null,
      created_at: iso(node.created_at),
      control_channel: Boolean(node.control_channel),
    };
  }

  /** A node rotates its own key pair (signed with the old key) and gets a new MQTT password. */
  async rotateOwn(actor: Actor, publicKey: string, sourceIp: string): Promise<RotateCredentialsAnswer> {
    if (actor.kind !== 'node') throw new WattfleetError('WF_FORBIDDEN');
    const result = await rotateOwnCredentials(this.hub, actor.nodeId, publicKey, sourceIp);
    this.keys.invalidate(actor.nodeId);
    return result;
  }
}
