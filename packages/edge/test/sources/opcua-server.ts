// A real node-opcua server on loopback for the opcua source's tests: the meter that
// templates/opcua/example-meter.yaml describes, with a power value in kW the test sets, an energy
// counter in kWh and a serial number. It accepts None, Sign
// and SignAndEncrypt (Basic256Sha256), anonymous or user "operator"/"secret", and trusts only the
// client certificates the test hands it — as a real plant server would after its admin's click.
import { createServer } from 'node:net';
import { join } from 'node:path';
import { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import { DataType, MessageSecurityMode, SecurityPolicy, Variant } from 'node-opcua-client';
import { OPCUAServer } from 'node-opcua-server';

export interface MeterValues {
  powerKw: number;
  energyKwh: number;
  serial: string;
}

export interface TestServer {
  port: number;
  endpoint: string;
  /** SHA-1 thumbprint of the server's own certificate (what an installer reads off its screen). */
  thumbprint: string;
  values: MeterValues;
  trustClient(pem: string): Promise<void>;
  /** false: new subscriptions are refused (BadTooManySubscriptions), as a small embedded server does. */
  allowSubscriptions(allowed: boolean): void;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const pemToDer = (pem: string) =>
  Buffer.from(pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, ''), 'base64');

/** Starts (or, with the same `pkiDir` and `port`, restarts) the server. */
export async function startTestServer(opts: {
  pkiDir: string;
  port?: number;
  values?: MeterValues;
}): Promise<TestServer> {
  const port = opts.port ?? (await freePort());
  const values = opts.values ?? { powerKw: 1.5, energyKwh: 1234.5, serial: 'WF-UA-0001' };
  const serverCertificateManager = new OPCUACertificateManager({
    rootFolder: join(opts.pkiDir, 'server-pki'),
    automaticallyAcceptUnknownCertificate: false,
  });
  await serverCertificateManager.initialize();
  const server = new OPCUAServer({
    port,
    hostname: '127.0.0.1',
    alternateHostname: ['127.0.0.1'],
    serverCertificateManager,
    securityModes: [MessageSecurityMode.None, MessageSecurityMode.Sign, MessageSecurityMode.SignAndEncrypt],
    securityPolicies: [SecurityPolicy.None, SecurityPolicy.Basic256Sha256],
    allowAnonymous: true,
    userManager: {
      isValidUser: (user: string, password: string) => user === 'operator' && password === 'secret',
    },
  });
  await server.initialize();
  const addressSpace = server.engine.addressSpace!;
  const ns = addressSpace.getOwnNamespace();
  const meter = ns.addObject({ organizedBy: addressSpace.rootFolder.objects, browseName: 'Meter' });
  const variable = (name: string, dataType: DataType, get: () => number | string) =>
    ns.addVariable({
      componentOf: meter,
      nodeId: `s=Meter.${name}`,
      browseName: name,
      dataType: DataType[dataType],
      minimumSamplingInterval: 50,
      value: { get: () => new Variant({ dataType, value: get() }) },
    });
  variable('Power', DataType.Double, () => values.powerKw);
  variable('Energy', DataType.Double, () => values.energyKwh);
  variable('Serial', DataType.String, () => values.serial);
  await server.start();
  const certificate = server.getCertificate();
  const { createHash } = await import('node:crypto');
  return {
    port,
    endpoint: `opc.tcp://127.0.0.1:${port}`,
    thumbprint: createHash('sha1').update(certificate).digest('hex'),
    values,
    trustClient: (pem) => serverCertificateManager.trustCertificate(pemToDer(pem)),
    allowSubscriptions: (allowed) => {
      server.engine.serverCapabilities.maxSubscriptions = allowed ? 100 : 0;
    },
    stop: async () => {
      await server.shutdown(0);
      await serverCertificateManager.dispose();
    },
  };
}
