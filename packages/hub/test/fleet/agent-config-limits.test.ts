// Hostile YAML at the config validator (issue #19 item 9): each of these ran the hub out of memory
// or held its event loop for minutes before the limits; now each answers a located problem,
// quickly, and the hub keeps serving. The agent reads its own file with the same limits.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CONFIG_LIMITS, parseConfigText } from '@wattfleet/devices/config';
import { ENGINES } from '../helpers/engines.ts';
import { startTestHub, type TestHub } from '../helpers/hub.ts';

// The valid config of fleet.test.ts (not imported: importing a test file runs its tests).
const VALID_CONFIG = `version: 2
hub:
  url: http://127.0.0.1:8080
site:
  lat: 52.5
  lon: 13.4
  timezone: Europe/Berlin
sources:
  - type: simulator
    key: sim
    seed: 1
`;

function billionLaughs(): string {
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 9; i++) {
    const name = String.fromCharCode(97 + i);
    const prev = String.fromCharCode(96 + i);
    lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
  }
  return lines.join('\n');
}

const HOSTILE_YAML: Record<string, { text: string; message: RegExp }> = {
  'nested explicit keys ("? " x 1500)': { text: '? '.repeat(1500), message: /nested deeper/ },
  'deep flow sequence': { text: `${'['.repeat(20_000)}${']'.repeat(20_000)}`, message: /nested deeper/ },
  'deep flow mapping': { text: `${'{a: '.repeat(5_000)}1${'}'.repeat(5_000)}`, message: /nested deeper/ },
  'deep block sequence': { text: `${'- '.repeat(5_000)}a`, message: /nested deeper/ },
  'collection as a key': { text: '? [a, [b]]\n: 1\n', message: /key must be a plain value/ },
  'undefined alias': { text: 'a: *undefined_alias\n', message: /Unresolved alias/ },
  'alias bomb': { text: billionLaughs(), message: /Excessive alias count/ },
  'many anchors': {
    text: Array.from({ length: 500 }, (_, i) => `k${i}: &x${i} v`).join('\n'),
    message: /more than 100 anchors/,
  },
  '30,000 keys in one mapping': {
    text: Array.from({ length: 30_000 }, (_, i) => `k${i}: v`)
      .join('\n')
      .slice(0, 262_144),
    message: /more than 10000 values/,
  },
  'duplicate key': { text: `${VALID_CONFIG}hub: {}\n`, message: /duplicate key "hub"/ },
};

describe('the agent reads its own config with the same YAML limits', () => {
  it('refuses each hostile document with a YAML problem', () => {
    for (const [name, { text, message }] of Object.entries(HOSTILE_YAML)) {
      const r = parseConfigText(text);
      assert.equal(r.ok, false, name);
      assert.ok(!r.ok && r.problems.some((p) => message.test(p.message)), `${name}: ${JSON.stringify(r)}`);
    }
    assert.equal(parseConfigText(VALID_CONFIG).ok, true);
    assert.equal(CONFIG_LIMITS.maxChars, 262_144, 'CONFIG_PUSH and the validator accept the same size');
  });
});

for (const engine of ENGINES) {
  describe(`POST /agent-config/validate with hostile YAML on ${engine}`, () => {
    let hub: TestHub;
    before(async () => {
      hub = await startTestHub(engine);
    });
    after(async () => hub.close());

    it('answers every hostile document with a located problem and keeps serving', async () => {
      for (const [name, { text, message }] of Object.entries(HOSTILE_YAML)) {
        const r = await hub.admin('POST', '/api/v1/agent-config/validate', { config: text });
        assert.equal(r.statusCode, 200, `${name}: ${r.body.slice(0, 300)}`);
        const body = r.json() as { ok: boolean; problems: { message: string; line: number | null }[] };
        assert.equal(body.ok, false, name);
        const p = body.problems.find((x) => message.test(x.message));
        assert.ok(p, `${name}: ${JSON.stringify(body.problems.slice(0, 3))}`);
        assert.equal(typeof p.line, 'number', `${name}: the problem is located on a line`);
      }
      const over = await hub.admin('POST', '/api/v1/agent-config/validate', { config: 'a'.repeat(262_145) });
      assert.equal(over.statusCode, 400);
      assert.equal(over.json().code, 'WF_VALIDATION');
      const ok = await hub.admin('POST', '/api/v1/agent-config/validate', { config: VALID_CONFIG });
      assert.equal(ok.json().ok, true, ok.body);
      assert.equal((await hub.admin('GET', '/healthz')).statusCode, 200);
    });
  });
}
