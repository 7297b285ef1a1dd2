// `wattfleet-agent doctor`: the checks an installer runs on site, each with a plain verdict.
import { statSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { nodeClientId } from '@wattfleet/protocol';
import mqtt from 'mqtt';
import { probeHub } from '../control/handlers/diagnostics.ts';
import { loadIdentity } from '../identity/identity.ts';
import { Outbox } from '../outbox/outbox.ts';
import { readConfig } from '../runtime/agent.ts';

type Check = { name: string; ok: boolean; detail: string };

export async function doctor(configPath: string): Promise<number> {
  const checks: Check[] = [];
  const add = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
  const cfg = readConfig(configPath);
  if (!cfg.ok) {
    add('config', false, cfg.problems.map((p) => `${p.path || '/'} ${p.message}`).join('; '));
    return report(checks);
  }
  add('config', true, `${configPath} valid (version ${cfg.config.version})`);
  const c = cfg.config;
  let identity: ReturnType<typeof loadIdentity>;
  try {
    identity = loadIdentity(c.identity.path);
    if (!identity) add('identity', false, `not enrolled (${c.identity.path} missing)`);
    else {
      const mode = statSync(c.identity.path).mode & 0o777;
      add(
        'identity',
        mode === 0o600,
        `node ${identity.nodeId}, file mode ${mode.toString(8)}${mode === 0o600 ? '' : ' (must be 600)'}`,
      );
    }
  } catch (err) {
    add('identity', false, (err as Error).message);
  }
  try {
    const o = Outbox.open(c.outbox.path, { maxBytes: c.outbox.maxBytes });
    const integrity = o.db.pragma('quick_check', { simple: true });
    const s = o.stats();
    o.close();
    add(
      'outbox',
      integrity === 'ok',
      `integrity ${integrity}; ${s.depth} waiting, ${s.dropped} dropped, ${s.poisoned} refused`,
    );
  } catch (err) {
    add('outbox', false, (err as Error).message);
  }
  const hub = await probeHub(c.hub.url);
  add('hub', hub.reachable === true, JSON.stringify(hub));
  if (typeof hub.clockOffsetMs === 'number') {
    add('clock', Math.abs(hub.clockOffsetMs) < 60_000, `offset to hub ${hub.clockOffsetMs} ms`);
  }
  // The same choice as the agent: an explicit local hub.mqttUrl wins over the enrollment answer.
  const mqttUrl = c.hub.mqttUrl ?? identity?.mqtt.url;
  if (identity && mqttUrl)
    add('broker', ...(await probeBroker(mqttUrl, identity.mqtt.username, identity.mqtt.password)));
  try {
    const fs = await statfs(dirname(c.outbox.path));
    const free = fs.bavail * fs.bsize;
    add('disk', free > c.outbox.maxBytes * 0.2, `${(free / 1e9).toFixed(1)} GB free`);
  } catch (err) {
    add('disk', false, (err as Error).message);
  }
  return report(checks);
}

async function probeBroker(url: string, username: string, password: string): Promise<[boolean, string]> {
  try {
    const client = await mqtt.connectAsync(url, {
      username,
      password,
      // Its own id bound to the node (the broker refuses foreign ids), never the agent's own one,
      // which would take over the running agent's session.
      clientId: `${nodeClientId(username)}-doctor`,
      connectTimeout: 5000,
      reconnectPeriod: 0,
    });
    await client.endAsync();
    return [true, `connected to ${url}`];
  } catch (err) {
    return [false, `${url}: ${(err as Error).message}`];
  }
}

function report(checks: Check[]): number {
  for (const c of checks) process.stdout.write(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name.padEnd(9)} ${c.detail}\n`);
  return checks.every((c) => c.ok) ? 0 : 1;
}
