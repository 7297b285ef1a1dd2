// Issue #16.5: the hub serves HTTPS and MQTT over TLS itself (TLS_CERT_FILE / TLS_KEY_FILE), with
// a throwaway CA made by openssl for this test. Over TLS: the API answers with HSTS; plain HTTP on
// the same port and a client that does not trust the CA get nothing. Enrollment hands a node the
// embedded broker's mqtts:// listener, where it logs in with its password and reaches its own
// topics; a plain MQTT client on that port is refused. (PGlite: a hub process.)
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateNodeKeyPair } from '@wattfleet/protocol';
import mqtt from 'mqtt';
import { HubProcess } from '../helpers/hub-process.ts';

const ADMIN_TOKEN = 'tls-test-admin-token-0123456789abcdef';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** A CA and a server certificate for 127.0.0.1 / localhost, signed by it. */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=Wattfleet test CA',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
  );
  run(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=localhost',
    '-keyout',
    'hub.key',
    '-out',
    'hub.csr',
  );
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run(
    'x509',
    '-req',
    '-in',
    'hub.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    'san.ext',
    '-out',
    'hub.pem',
  );
  return { ca: join(dir, 'ca.pem'), cert: join(dir, 'hub.pem'), key: join(dir, 'hub.key') };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Connects, or rejects within 8 s (a TLS handshake a plain client never finishes must not hang). */
function connect(url: string, opts: mqtt.IClientOptions): Promise<mqtt.MqttClient> {
  const client = mqtt.connect(url, { ...opts, reconnectPeriod: 0, connectTimeout: 5_000 });
  return new Promise((resolve, reject) => {
    const fail = (err: unknown) => {
      clearTimeout(timer);
      client.end(true);
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    const timer = setTimeout(() => fail(new Error('no CONNACK')), 8_000);
    client.once('connect', () => {
      clearTimeout(timer);
      resolve(client);
    });
    client.once('error', fail);
    client.once('close', () => fail(new Error('closed before CONNACK')));
  });
}

function request(url: string, opts: { ca?: Buffer; method?: string; body?: unknown } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: opts.method ?? 'GET',
        ...(opts.ca ? { ca: opts.ca } : {}),
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        timeout: 10_000,
      },
      (res) => {
        let body = '';
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(opts.body === undefined ? undefined : JSON.stringify(opts.body));
  });
}

describe('the hub over TLS (HTTPS and MQTT over TLS, throwaway CA)', () => {
  let dir: string;
  let hub: HubProcess;
  let ca: Buffer;
  let port: number;
  let mqttTlsPort: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wf-tls-'));
    const files = makeCertificates(dir);
    ca = readFileSync(files.ca);
    port = await freePort();
    mqttTlsPort = await freePort();
    hub = new HubProcess({
      PORT: String(port),
      HOST: '127.0.0.1',
      MQTT_PORT: String(await freePort()),
      MQTT_TLS_PORT: String(mqttTlsPort),
      TLS_CERT_FILE: files.cert,
      TLS_KEY_FILE: files.key,
      WATTFLEET_DATA_DIR: join(dir, 'data'),
      WATTFLEET_ADMIN_TOKEN: ADMIN_TOKEN,
      DATABASE_URL: '',
      LOG_FORMAT: 'json',
    });
    await hub.start();
  });

  after(async () => {
    await hub?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers HTTPS with HSTS, and nothing to plain HTTP or to a client that does not trust the CA', async () => {
    assert.match(hub.url, /^https:\/\//);
    const ok = await request(`https://127.0.0.1:${port}/healthz`, { ca });
    assert.equal(ok.status, 200);
    assert.match(String(ok.headers['strict-transport-security']), /max-age=\d+/);
    await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`), 'plain HTTP on the TLS port');
    await assert.rejects(
      request(`https://127.0.0.1:${port}/healthz`),
      /self[- ]signed|unable to verify|certificate/i,
    );
  });

  it('enrolls a node onto the mqtts:// listener, where only TLS clients get in', async () => {
    const api = (path: string, body: unknown) =>
      request(`https://127.0.0.1:${port}/api/v1${path}`, { ca, method: 'POST', body }).then((a) => {
        assert.ok(a.status < 300, `${path}: ${a.status} ${a.body}`);
        return JSON.parse(a.body) as Record<string, string>;
      });
    const org = await api('/orgs', { name: 'TLS', kind: 'household' });
    const site = await api('/sites', { orgId: org.id, name: 'Roof', timezone: 'UTC' });
    const { code } = await api(`/sites/${site.id}/enrollment-codes`, {});
    const enrolled = (await api('/nodes/enroll', {
      code,
      publicKey: generateNodeKeyPair().publicKey,
    })) as unknown as { nodeId: string; mqtt: { url: string; username: string; password: string } };
    assert.equal(enrolled.mqtt.url, `mqtts://127.0.0.1:${mqttTlsPort}`);

    const node = await connect(enrolled.mqtt.url, {
      ca,
      username: enrolled.nodeId,
      password: enrolled.mqtt.password,
      clientId: `wf-node-${enrolled.nodeId}`,
      protocolVersion: 4,
    });
    try {
      const granted = await node.subscribeAsync(`nodes/${enrolled.nodeId}/commands`, { qos: 1 });
      assert.equal(granted[0]?.qos, 1, 'its own topic over TLS');
    } finally {
      await node.endAsync(true);
    }
    // Plain MQTT on the TLS port: no CONNACK.
    await assert.rejects(
      connect(`mqtt://127.0.0.1:${mqttTlsPort}`, {
        username: enrolled.nodeId,
        password: enrolled.mqtt.password,
        clientId: `wf-node-${enrolled.nodeId}-plain`,
      }),
    );
  });
});
