// What the uplink needs from a transport: send one formed batch and say what happened.
import type { FormedBatch } from '../outbox/outbox.ts';

export type SendResult =
  | { kind: 'acked'; status: 'stored' | 'duplicate' }
  /** The hub says the batch itself is invalid: retrying can never succeed. */
  | { kind: 'poison'; reason: string }
  /** Try again later; `retryAfterMs` when the hub said when. `busy` = hub alive but shedding load. */
  | { kind: 'retry'; reason: string; retryAfterMs?: number; busy?: boolean };

export interface TelemetryTransport {
  readonly name: string;
  send(batch: FormedBatch): Promise<SendResult>;
  close?(): Promise<void>;
}
