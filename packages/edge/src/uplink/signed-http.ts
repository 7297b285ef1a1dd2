// Every node → hub HTTP request goes through here: the signature covers the exact bytes on the
// wire (after gzip), so the hub verifies what it received, not what it decoded.
import type { KeyObject } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { signRequest } from '@wattfleet/protocol';
import { type HttpAnswer, httpRequest } from './http-request.ts';

export interface HubClient {
  hubUrl: string;
  nodeId: string;
  key: KeyObject;
  timeoutMs?: number;
}

export async function signedPostJson(client: HubClient, path: string, json: string): Promise<HttpAnswer> {
  const url = new URL(path, client.hubUrl);
  const body = gzipSync(Buffer.from(json));
  const signedPath = url.pathname + url.search;
  return httpRequest(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
      ...signRequest(client.key, client.nodeId, 'POST', signedPath, body),
    },
    body,
    timeoutMs: client.timeoutMs ?? 15_000,
  });
}
