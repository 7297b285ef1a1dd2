// The heartbeats benchmark's baseline, run as its own process so its CPU can be measured like the
// hub's: the naive handler, one UPDATE (= one transaction) per heartbeat on a pool of 8, fed by the
// same Mosquitto subscription. Env: MQTT_URL, MQTT_USERNAME, MQTT_PASSWORD, DATABASE_URL.
import mqtt from 'mqtt';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 8 });
const client = await mqtt.connectAsync(process.env.MQTT_URL!, {
  username: process.env.MQTT_USERNAME,
  password: process.env.MQTT_PASSWORD,
  clientId: 'bench-naive-heartbeats',
  protocolVersion: 5,
  reconnectPeriod: 0,
});
client.on('message', (topic, payload) => {
  const nodeId = topic.split('/')[1];
  const status = JSON.parse(payload.toString('utf8')) as { clock: number };
  pool
    .query(
      `UPDATE nodes SET last_seen_at = now(), status = 'online', clock_offset_ms = $2, last_status = $3::jsonb
       WHERE id = $1 AND active`,
      [nodeId, status.clock - Date.now(), payload.toString('utf8')],
    )
    .catch((err) => console.error('update failed', err));
});
await client.subscribeAsync('nodes/+/status', { qos: 1 });
console.log('naive heartbeat handler ready');
process.once('SIGTERM', () => {
  client.end(true);
  pool.end().then(() => process.exit(0));
});
