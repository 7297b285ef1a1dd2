// Batches over signed HTTP(S) to POST /api/v1/ingest/telemetry (or …/events, …/daily: same
// answers). The status code decides the batch's fate: 200 done, 400 poison (never retried), 429
// wait as told, anything else retry — a 401 for the node's clock included: the data stays here
// until the clock is right.
import type { FormedBatch } from '../outbox/outbox.ts';
import { parseRetryAfter } from './backoff.ts';
import type { HttpAnswer } from './http-request.ts';
import { type HubClient, signedPostJson } from './signed-http.ts';
import type { SendResult, TelemetryTransport } from './transport.ts';

export const INGEST_PATH = '/api/v1/ingest/telemetry';
export const INGEST_PATHS = {
  telemetry: INGEST_PATH,
  events: '/api/v1/ingest/events',
  daily: '/api/v1/ingest/daily',
} as const;

export class HttpTransport implements TelemetryTransport {
  readonly name = 'http';
  constructor(
    private readonly client: HubClient,
    private readonly path: string = INGEST_PATH,
  ) {}

  async send(batch: FormedBatch): Promise<SendResult> {
    let res: HttpAnswer;
    try {
      res = await signedPostJson(this.client, this.path, batch.body);
    } catch (err) {
      return { kind: 'retry', reason: `network: ${(err as Error).cause ?? (err as Error).message}` };
    }
    const text = await res.text().catch(() => '');
    const json = safeJson(text) as
      | { status?: string; batchId?: string; code?: string; message?: string; offsetMs?: number }
      | undefined;
    if (res.status === 200 && (json?.status === 'stored' || json?.status === 'duplicate')) {
      if (json.batchId && json.batchId !== batch.id) {
        return { kind: 'retry', reason: `hub acknowledged ${json.batchId}, not ${batch.id}` };
      }
      return { kind: 'acked', status: json.status };
    }
    // 413: the batch will never fit; like 400 it is the batch's fault, not the hub's.
    if (res.status === 400 || res.status === 413) {
      return {
        kind: 'poison',
        reason: `${res.status} ${json?.code ?? ''} ${json?.message ?? text.slice(0, 500)}`.trim(),
      };
    }
    if (res.status === 429) {
      const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
      return {
        kind: 'retry',
        reason: '429 rate limited',
        busy: true,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      };
    }
    if (json?.code === 'WF_SIGNATURE_EXPIRED') {
      const off = typeof json.offsetMs === 'number' ? `${Math.round(json.offsetMs / 1000)} s` : 'too far';
      return { kind: 'retry', reason: `401 WF_SIGNATURE_EXPIRED: this node's clock is ${off} off the hub's` };
    }
    const retryAfterMs = res.status === 503 ? parseRetryAfter(res.headers.get('retry-after')) : undefined;
    return {
      kind: 'retry',
      reason: `${res.status} ${json?.code ?? text.slice(0, 200)}`.trim(),
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    };
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
