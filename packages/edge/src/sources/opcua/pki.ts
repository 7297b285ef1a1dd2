// The agent's OPC UA identity and trust: one application-instance certificate per agent,
// generated on first use in the agent's data dir (`<data>/opcua-pki`, the usual OPC UA layout:
// own/, trusted/, rejected/, issuers/), and a trust list for server certificates. A server is
// trusted when its certificate's SHA-1 thumbprint is in the source's `trustedServerCertificates`
// (settable remotely, by config push) or its certificate file is in `trusted/certs`. An unknown
// server certificate is refused and copied into `rejected/`, and the error names its thumbprint:
// that is the "first use" an installer checks against the server's display before trusting it.
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { OPCUACertificateManager } from 'node-opcua-certificate-manager';

export const APPLICATION_NAME = 'WattfleetAgent';
export const applicationUri = (): string => `urn:${hostname()}:${APPLICATION_NAME}`;

export interface CertificateSummary {
  /** SHA-1 of the DER, lower-case hex (what node-opcua and most servers show). */
  thumbprint: string;
  subject: string;
  validTo: string;
  file?: string;
}

/** Lower-case hex, no colons: the form thumbprints are compared in. */
export const normalizeThumbprint = (t: string): string => t.replaceAll(':', '').toLowerCase();

/** The first certificate of a DER chain (a server may send its issuers after its own). */
export function firstCertificate(der: Buffer | Buffer[]): Buffer {
  const buf = Array.isArray(der) ? der[0]! : der;
  if (buf.length < 2 || buf[0] !== 0x30) return buf;
  const first = buf[1]!;
  if (first < 0x80) return buf.subarray(0, 2 + first);
  const n = first & 0x7f;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + buf[2 + i]!;
  return buf.subarray(0, 2 + n + len);
}

export function summarize(der: Buffer, file?: string): CertificateSummary {
  const cert = firstCertificate(der);
  const thumbprint = createHash('sha1').update(cert).digest('hex');
  let subject = '';
  let validTo = '';
  try {
    const x = new X509Certificate(cert);
    subject = x.subject.replaceAll('\n', ', ');
    validTo = new Date(x.validTo).toISOString();
  } catch {
    // An unreadable certificate still has a thumbprint to show.
  }
  return { thumbprint, subject, validTo, ...(file ? { file } : {}) };
}

function pemToDer(pem: string): Buffer {
  const body = pem.match(/-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/)?.[1] ?? '';
  return Buffer.from(body.replace(/\s+/g, ''), 'base64');
}

type ManagerClass = typeof OPCUACertificateManager;
let managerClass: Promise<ManagerClass> | undefined;
const loadManagerClass = (): Promise<ManagerClass> => {
  managerClass ??= import('node-opcua-certificate-manager').then((m) => m.OPCUACertificateManager);
  return managerClass;
};

/** Why the last server certificate was refused, kept so the connect error can say it plainly. */
export interface Refusal {
  certificate: CertificateSummary;
  status: string;
}

export interface AgentPki {
  manager: OPCUACertificateManager;
  rootDir: string;
  certificateFile: string;
  privateKeyFile: string;
  own: CertificateSummary;
  lastRefusal(): Refusal | undefined;
}

/**
 * Opens (creating on first use) the agent's PKI at `rootDir` with its own certificate, and a
 * manager that trusts server certificates by `trusted` thumbprints or the trusted folder.
 * `checkServer: false` (security mode None) accepts any server: nothing is signed to check.
 */
export async function openPki(
  rootDir: string,
  trusted: readonly string[],
  checkServer: boolean,
): Promise<AgentPki> {
  const Manager = await loadManagerClass();
  const thumbprints = new Set(trusted.map(normalizeThumbprint));
  let refusal: Refusal | undefined;
  class TrustListManager extends Manager {
    // node-opcua asks this of every server certificate at connect.
    override async checkCertificate(chain: Buffer | Buffer[]): Promise<never> {
      const summary = summarize(firstCertificate(chain));
      const { StatusCodes } = await import('node-opcua-client');
      if (!checkServer || thumbprints.has(summary.thumbprint)) return StatusCodes.Good as never;
      const status = await (
        super.checkCertificate as (c: Buffer | Buffer[]) => Promise<{ isGood(): boolean; name: string }>
      )(chain);
      if (!status.isGood()) refusal = { certificate: summary, status: status.name };
      return status as never;
    }
  }
  const manager = new TrustListManager({ rootFolder: rootDir, automaticallyAcceptUnknownCertificate: false });
  await manager.initialize();
  const certificateFile = join(manager.rootDir, 'own/certs/client_certificate.pem');
  if (!existsSync(certificateFile)) {
    await manager.createSelfSignedCertificate({
      applicationUri: applicationUri(),
      dns: [hostname()],
      subject: `/CN=${APPLICATION_NAME}@${hostname()}/O=Wattfleet`,
      outputFile: certificateFile,
      startDate: new Date(),
      validity: 365 * 10,
    });
  }
  const own = summarize(pemToDer(readFileSync(certificateFile, 'utf8')), certificateFile);
  return {
    manager,
    rootDir: manager.rootDir,
    certificateFile,
    privateKeyFile: join(manager.rootDir, 'own/private/private_key.pem'),
    own,
    lastRefusal: () => refusal,
  };
}
