// What the uplink needs from a transport: send one formed batch and say what happened.
import type { FormedBatch } from '../outbox/outbox.ts';

export type SendResult =
  | { kind: 'acked'; status: 'stored' | 'duplicate' }
  /** The hub says the batch itself is invalid: retrying can never succeed. */
  | { kind: 'poison'; reason: string }
  /** Try again later; `retryAfterMs` when the hub said when. `busy` = hub alive but shedding load. */
  | { kind: 'retry'; reason: string; retryAfterMs?: number; busy?: boolean };

/**
 * What the uplink drains: the telemetry outbox, or the queue of events or daily reports. Each
 * forms batches durably (id and bytes stored before the first send) and forgets them on ack.
 */
export interface BatchQueue {
  formBatch(opts: { maxSamples: number; maxAgeMs: number; now?: number }): FormedBatch | undefined;
  batches(limit?: number): FormedBatch[];
  batchCount(): number;
  ack(id: string): unknown;
  poison(id: string, reason: string): void;
  recordAttempt(id: string, error?: string): void;
}

export interface TelemetryTransport {
  readonly name: string;
  send(batch: FormedBatch): Promise<SendResult>;
  close?(): Promise<void>;
}
