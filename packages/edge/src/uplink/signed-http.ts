// Every node → hub HTTP request goes through here: the signature covers the exact bytes on the
// wire (after gzip), so the hub verifies what it received, not what it decoded.
import type { KeyObject } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { HUB_TIME_HEADER, signRequest } from '@wattfleet/protocol';
import type { Clock } from '../time/clock.ts';
import { type HttpAnswer, httpRequest } from './http-request.ts';

export interface HubClient {
  hubUrl: string;
  nodeId: string;
  key: KeyObject;
  timeoutMs?: number;
  /** The agent's wall clock: what the signature's timestamp says. */
  clock?: Clock;
  /**
   * Every answer carries the hub's time. `offsetMs` = this node's clock − the hub's, measured at
   * the middle of the exchange (so the round trip does not count as drift).
   */
  onHubTime?: (offsetMs: number, hubTime: number) => void;
}

export async function signedPostJson(client: HubClient, path: string, json: string): Promise<HttpAnswer> {
  const url = new URL(path, client.hubUrl);
  const body = gzipSync(Buffer.from(json));
  const signedPath = url.pathname + url.search;
  const now = () => client.clock?.now() ?? Date.now();
  const sentAt = now();
  const answer = await httpRequest(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
      ...signRequest(client.key, client.nodeId, 'POST', signedPath, body, sentAt),
    },
    body,
    timeoutMs: client.timeoutMs ?? 15_000,
  });
  const hubTime = Number(answer.headers.get(HUB_TIME_HEADER));
  if (client.onHubTime && Number.isFinite(hubTime) && hubTime > 0) {
    client.onHubTime(Math.round((sentAt + now()) / 2 - hubTime), hubTime);
  }
  return answer;
}
