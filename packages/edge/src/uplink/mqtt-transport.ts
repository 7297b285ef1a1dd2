// Batches over MQTT QoS 1 on nodes/{id}/telemetry (or …/events, …/daily): the broker's PUBACK is
// the acknowledgement. The hub cannot call a batch poison on this path; it logs and drops invalid
// batches itself.
import { topics } from '@wattfleet/protocol';
import type { MqttClient } from 'mqtt';
import type { FormedBatch } from '../outbox/outbox.ts';
import type { SendResult, TelemetryTransport } from './transport.ts';

export class MqttTransport implements TelemetryTransport {
  readonly name = 'mqtt';
  constructor(
    private readonly client: MqttClient,
    private readonly nodeId: string,
    private readonly timeoutMs = 15_000,
    private readonly channel: 'telemetry' | 'events' | 'daily' = 'telemetry',
  ) {}

  async send(batch: FormedBatch): Promise<SendResult> {
    if (!this.client.connected) return { kind: 'retry', reason: 'mqtt not connected' };
    let timer: NodeJS.Timeout | undefined;
    try {
      // A timed-out publish may still leave from mqtt.js's queue later; the hub dedupes by batch id.
      await Promise.race([
        this.client.publishAsync(topics[this.channel](this.nodeId), batch.body, { qos: 1 }),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('no PUBACK in time')), this.timeoutMs);
        }),
      ]);
      return { kind: 'acked', status: 'stored' };
    } catch (err) {
      return { kind: 'retry', reason: `mqtt: ${(err as Error).message}` };
    } finally {
      clearTimeout(timer);
    }
  }
}
