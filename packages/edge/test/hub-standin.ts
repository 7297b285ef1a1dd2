// A small local HTTP server standing in for the hub, kept only where the real hub cannot produce
// the case on demand: a scripted run of 503s, a 429 with a 1 s Retry-After (the hub's limit is
// per minute), a count of exactly which bytes arrived. Everything the real hub can do is tested
// against it in hub-e2e.test.ts (enroll, stored/duplicate, poison, 429, outage and drain, logs).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { publicKeyFromRaw, verifySignature } from '@wattfleet/protocol';

export interface ReceivedRequest {
  at: number;
  path: string;
  headers: IncomingMessage['headers'];
  json: unknown;
  signatureOk: boolean;
}

export type Responder = (
  req: ReceivedRequest,
  n: number,
) => { status: number; headers?: Record<string, string>; body?: unknown };

export async function startHubStandIn(publicKey: string, responder: Responder) {
  const received: ReceivedRequest[] = [];
  const key = publicKeyFromRaw(publicKey);
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
      const signatureOk = verifySignature(key, req.method!, req.url!, req.headers, raw).ok;
      const r: ReceivedRequest = {
        at: Date.now(),
        path: req.url!,
        headers: req.headers,
        json: body.length ? JSON.parse(body.toString()) : undefined,
        signatureOk,
      };
      received.push(r);
      const answer = responder(r, received.length);
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(JSON.stringify(answer.body ?? {}));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // fetch keeps connections alive; do not wait for them
      }),
  };
}

export const stored = (r: ReceivedRequest) => {
  const b = r.json as { batchId?: string; samples?: unknown[] } | undefined;
  if (!b?.batchId || !b.samples) return { status: 404, body: { code: 'WF_NOT_FOUND', message: 'Not found' } };
  return { status: 200, body: { status: 'stored', batchId: b.batchId, stored: b.samples.length } };
};
