// The fuzz harness, smaller and with a fixed seed, as part of npm test (issue #19 item 11): 1,200
// malformed inputs per engine over every OpenAPI route, the node-signed routes, every MQTT topic a
// node may publish, the realtime socket and the config validator, against the hub as its own
// process. The full run is `npm run bench -- fuzz`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ENGINES } from '../helpers/engines.ts';
import { fuzzEngine, fuzzLine } from '../helpers/fuzz.ts';

const SEED = 190_011;
const RUNS = { openapi: 660, signed: 180, mqtt: 180, realtime: 100, config: 80 };

for (const engine of ENGINES) {
  describe(`fuzz on ${engine}`, () => {
    it('answers no malformed input with 5xx, never dies and stores nothing of what it refused', async () => {
      const { report, stored, output } = await fuzzEngine(engine, { seed: SEED, runs: RUNS });
      const line = fuzzLine(report, stored.length);
      const detail = [
        line,
        ...report.findings.slice(0, 10).map((f) => `${f.surface} ${f.status}: ${f.input} → ${f.answer}`),
        ...stored.slice(0, 10).map((s) => `stored ${s.marker} in ${s.table}`),
        ...(report.crashes ? [output.slice(-3000)] : []),
      ].join('\n');
      assert.ok(report.requests >= 1000, line);
      assert.equal(report.fiveXx, 0, detail);
      assert.equal(report.crashes, 0, detail);
      assert.equal(stored.length, 0, detail);
      // The run reached past validation: some inputs were accepted, most refused with 4xx.
      const accepted = [...report.statuses]
        .filter(([k]) => k.endsWith(' 2xx'))
        .reduce((n, [, c]) => n + c, 0);
      const refused = [...report.statuses].filter(([k]) => k.endsWith(' 4xx')).reduce((n, [, c]) => n + c, 0);
      assert.ok(accepted > 20 && refused > 500, JSON.stringify([...report.statuses]));
    });
  });
}
