// The real agent bundle with an opcua source (SignAndEncrypt, user and password) against a real
// node-opcua server and the real hub: the installer's steps as the README gives them — the
// server's thumbprint in the config; the agent's own certificate, made at its first start in its
// data dir, refused by the server until trusted there (the agent's event names its thumbprint);
// then samples at the hub, and the server going away is equipment.unreachable until it is back.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EVENT_KINDS } from '@wattfleet/protocol';
import { agent, alertIn, ctx, dir, events, samples, until, useAgentHub } from '../helpers/agent-hub.ts';
import { startTestServer, type TestServer } from './opcua-server.ts';

useAgentHub();

const pemToDer = (pem: string) =>
  Buffer.from(pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, ''), 'base64');

describe('the real agent reads OPC UA equipment', () => {
  it('subscribes with SignAndEncrypt once trusted both ways, and reports the server unreachable while it is down', async () => {
    let server: TestServer = await startTestServer({ pkiDir: join(dir, 'opcua-server') });
    const { port, values } = server;
    try {
      const a = await agent(
        'opcua',
        () => `hub: { url: "${ctx.hubUrl}", mqttUrl: "${ctx.brokerUrl}" }
sources:
  - type: opcua
    key: meter
    endpoint: ${server.endpoint}
    securityMode: SignAndEncrypt
    user: { username: operator, password: secret }
    trustedServerCertificates: ["${server.thumbprint}"]
    template: example-meter
    samplingIntervalMs: 200
    reconnect: { initialDelayMs: 200, maxDelayMs: 1000 }
poll: { intervalS: 0.5 }
health: { unreachableAfter: 3 }
`,
      );
      a.start();
      // The server does not know the agent yet: the agent says so, naming its own certificate.
      const cert = join(dir, 'opcua', 'opcua-pki/own/certs/client_certificate.pem');
      const unreachable = () => events(a.nodeId, EVENT_KINDS.equipmentUnreachable);
      // (An empty list is truthy: wait for the first event itself.)
      const refused = await until(
        'equipment.unreachable before the trust',
        async () => (await unreachable())[0],
        a.log,
      );
      assert.equal(refused.equipment, 'meter');
      const own = createHash('sha1')
        .update(pemToDer(readFileSync(cert, 'utf8')))
        .digest('hex');
      assert.match(String(refused.data!.error), /BadSecurityChecksFailed.*trust its certificate there/);
      assert.ok(String(refused.data!.error).includes(own), 'the event names the thumbprint to trust');

      await server.trustClient(readFileSync(cert, 'utf8'));
      await until(
        'samples from the OPC UA server at the hub',
        async () => (await samples(a.nodeId)) > 0,
        a.log,
      );
      await until(
        'reachable',
        async () => (await events(a.nodeId, EVENT_KINDS.equipmentReachable)).length === 1,
        a.log,
      );

      await server.stop();
      const lost = await until('equipment.unreachable again', async () => (await unreachable())[1], a.log);
      assert.match(String(lost.data!.error), /lost|closed|connect/i);

      server = await startTestServer({ pkiDir: join(dir, 'opcua-server'), port, values });
      await until(
        'equipment_unreachable resolved',
        alertIn(a.siteId, 'equipment_unreachable', 'resolved'),
        a.log,
      );
    } finally {
      await server.stop();
    }
  });
});
