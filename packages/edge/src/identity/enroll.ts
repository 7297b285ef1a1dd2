// Enrollment: the agent makes its key pair here, sends only the public half with the one-time
// code, and stores what the hub answers. The private key never leaves the node.
import { checker, EnrollResponse, generateNodeKeyPair } from '@wattfleet/protocol';
import { httpRequest } from '../uplink/http-request.ts';
import { AGENT_VERSION } from '../version.ts';
import { loadIdentity, type NodeIdentity, saveIdentity } from './identity.ts';

const checkResponse = checker(EnrollResponse);

export interface EnrollOptions {
  hubUrl: string;
  code: string;
  identityPath: string;
  name?: string;
  /** Replace an existing identity (re-enrollment after a compromise). */
  force?: boolean;
  /** The configured poll interval: the hub judges data completeness against it. */
  pollIntervalS?: number;
}

export async function enroll(opts: EnrollOptions): Promise<NodeIdentity> {
  if (!opts.force && loadIdentity(opts.identityPath)) {
    throw new Error(`already enrolled (${opts.identityPath} exists); use --force to enroll again`);
  }
  const keys = generateNodeKeyPair();
  const url = new URL('/api/v1/nodes/enroll', opts.hubUrl);
  const res = await httpRequest(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      code: opts.code,
      publicKey: keys.publicKey,
      agentVersion: AGENT_VERSION,
      ...(opts.name ? { name: opts.name } : {}),
      ...(opts.pollIntervalS !== undefined ? { pollIntervalS: opts.pollIntervalS } : {}),
    }),
    timeoutMs: 30_000,
  });
  const body: unknown = await res
    .text()
    .then(
      (t) => JSON.parse(t),
      () => undefined,
    )
    .catch(() => undefined);
  if (!res.ok) {
    const err = body as { code?: string; message?: string } | undefined;
    throw new Error(
      `enrollment refused (${res.status} ${err?.code ?? ''}): ${err?.message ?? 'no explanation'}`,
    );
  }
  if (!checkResponse.check(body)) {
    const problems = checkResponse.problems(body).map((p) => `${p.path} ${p.message}`);
    throw new Error(`unexpected enrollment answer: ${problems.join('; ')}`);
  }
  const identity: NodeIdentity = {
    nodeId: body.nodeId,
    siteId: body.siteId,
    ...(opts.name ? { name: opts.name } : {}),
    hubUrl: opts.hubUrl,
    publicKey: keys.publicKey,
    privateKeyPem: keys.privateKeyPem,
    mqtt: body.mqtt,
    enrolledAt: new Date().toISOString(),
  };
  saveIdentity(opts.identityPath, identity);
  return identity;
}
