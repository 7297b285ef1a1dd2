// B: telemetry over MQTT into PostgreSQL through the embedded broker, 500 samples per QoS 1
// message. Baseline in the same run: the same messages through the same broker to a topic nobody
// ingests (raw broker cost). `npm run bench -- mqtt-ingest [messages]`.
import { topics } from '@wattfleet/protocol';
import { createSite, TestNode } from '../packages/hub/test/helpers/hub.ts';
import { connectNode, startMqttHub, waitFor } from '../packages/hub/test/mqtt/mqtt-helpers.ts';

const PER_MESSAGE = 500;
const METRICS = ['solar_w', 'load_w', 'grid_w', 'battery_w', 'battery_soc'];

export async function main(args: string[]): Promise<void> {
  const messages = Number(args[0] ?? 200);
  const hub = await startMqttHub('postgres');
  try {
    const site = await createSite(hub);
    const node = await TestNode.enroll(hub, site.siteId);
    const client = await connectNode(hub.url, node);
    const t0 = Date.now() - 86_400_000;
    const payloads = Array.from({ length: messages }, (_, m) =>
      JSON.stringify({
        batchId: `bench-${m}-${t0}`,
        samples: Array.from({ length: PER_MESSAGE }, (_, i) => ({
          metric: METRICS[i % METRICS.length],
          ts: t0 + (m * PER_MESSAGE + i) * 100,
          value: i,
        })),
      }),
    );
    // Warm-up: series creation and the first partition.
    await client.publishAsync(topics.telemetry(node.nodeId), payloads[0]!, { qos: 1 });
    await waitFor(() => hub.cp.stats.telemetry.handled >= 1, 30_000);

    const r0 = performance.now();
    await Promise.all(payloads.map((p) => client.publishAsync(`nodes/${node.nodeId}/bench`, p, { qos: 1 })));
    const raw = messages / ((performance.now() - r0) / 1000);

    const h0 = performance.now();
    for (const p of payloads.slice(1)) client.publish(topics.telemetry(node.nodeId), p, { qos: 1 });
    await waitFor(() => hub.cp.stats.telemetry.handled >= messages, 600_000);
    const ingested = (messages - 1) / ((performance.now() - h0) / 1000);
    await client.endAsync();
    console.log(
      `mqtt-ingest: ratio=${(ingested / raw).toFixed(3)} ingest=${Math.round(ingested)} msg/s ` +
        `(${Math.round(ingested * PER_MESSAGE)} samples/s) raw-broker=${Math.round(raw)} msg/s messages=${messages}`,
    );
  } finally {
    await hub.close();
  }
}
