// `wattfleet-agent self-test`: run inside a freshly cloned release before it goes live. It proves
// the code loads, the live config still validates under the new schema, the outbox works and
// every source type registers. Exit code 0 = safe to swap.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Outbox } from '../outbox/outbox.ts';
import { readConfig } from '../runtime/agent.ts';
import { sourceRegistry } from '../sources/registry.ts';

export async function selfTest(configPath = process.env.WATTFLEET_CONFIG): Promise<number> {
  const failures: string[] = [];
  if (configPath) {
    const r = readConfig(configPath);
    if (!r.ok) failures.push(...r.problems.map((p) => `config ${p.path}: ${p.message}`));
  }
  const dir = mkdtempSync(join(tmpdir(), 'wf-selftest-'));
  try {
    const o = Outbox.open(join(dir, 'o.db'), { maxBytes: 1 << 20 });
    o.append([{ metric: 'solar_w', ts: Date.now(), value: 1 }]);
    const b = o.formBatch({ maxSamples: 10, maxAgeMs: 0 });
    if (!b || o.ack(b.id) !== 1) failures.push('outbox round trip failed');
    o.close();
  } catch (err) {
    failures.push(`outbox: ${(err as Error).message}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (sourceRegistry.types().length === 0) failures.push('no source types registered');
  for (const f of failures) process.stderr.write(`self-test: ${f}\n`);
  if (failures.length === 0) process.stdout.write('self-test ok\n');
  return failures.length ? 1 : 0;
}
