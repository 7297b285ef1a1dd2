// @wattfleet/devices through its public entry points, as the hub uses it: the agent config with
// the built-in source rules, the source catalogue, the simulated site; and the package stands on
// its own (it imports neither the agent nor the hub).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { builtinRules, CONFIG_LIMITS, parseConfigText } from '@wattfleet/devices/config';
import { createSimState, simulateAt, simulatorModel, simulatorOrigin } from '@wattfleet/devices/simulator';
import { builtinSourceSchemas, SourceSchemas, sourceRules, sourceRulesFor } from '@wattfleet/devices/sources';
import { localDate, zoneOffset } from '@wattfleet/devices/zone';
import Type from 'typebox';
import ts from 'typescript';
import * as root from '../src/index.ts';

const RULES = [...builtinRules, sourceRules];
const config = (sources: string) => `version: 2
hub:
  url: http://127.0.0.1:8080
site:
  lat: 52.5
  lon: 13.4
  timezone: Europe/Berlin
sources:
${sources}`;

describe('agent config with the built-in source rules', () => {
  it('accepts a config with a simulator and a modbus-tcp source', () => {
    const r = parseConfigText(
      config(`  - type: simulator
    key: sim
    seed: 1
  - type: modbus-tcp
    key: inverter
    host: 192.0.2.10
    templates: [sunspec-inverter]
`),
      RULES,
    );
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.config.sources.length, 2);
    assert.equal(r.config.poll.intervalS, 5, 'defaults are filled in');
  });

  it("checks each section against its type's schema, paths under /sources/i", () => {
    const r = parseConfigText(
      config(`  - type: simulator
    key: sim
  - type: modbus-tcp
    key: m
    host: h
    templates: []
    port: 0
  - type: no-such-source
    key: x
`),
      RULES,
    );
    assert.ok(!r.ok);
    const at = (path: string) => r.problems.filter((p) => p.path === path).map((p) => p.message);
    assert.ok(
      at('/sources/0').some((m) => /seed/.test(m)),
      JSON.stringify(r.problems),
    );
    assert.ok(at('/sources/1/templates').length > 0, JSON.stringify(r.problems));
    assert.ok(at('/sources/1/port').length > 0, JSON.stringify(r.problems));
    assert.deepEqual(at('/sources/2/type'), [
      'unknown source type "no-such-source" (known: modbus-rtu, modbus-tcp, mqtt-device, opcua, simulator)',
    ]);
  });

  it('without the source rules, sections are checked for type and key only', () => {
    assert.ok(parseConfigText(config('  - type: no-such-source\n    key: x\n')).ok);
  });

  it('refuses a text over the size limit before parsing it', () => {
    const r = parseConfigText(`# ${'x'.repeat(CONFIG_LIMITS.maxChars)}\n`, RULES);
    assert.ok(!r.ok);
    assert.match(r.problems[0]!.message, /^YAML: /);
  });
});

describe('source schemas', () => {
  it('lists the built-in types and refuses a second registration of one', () => {
    assert.deepEqual(builtinSourceSchemas.types(), [
      'modbus-rtu',
      'modbus-tcp',
      'mqtt-device',
      'opcua',
      'simulator',
    ]);
    assert.throws(
      () => builtinSourceSchemas.register('simulator', Type.Object({})),
      /source type "simulator" is already registered/,
    );
  });

  it('checks against a catalogue of its own', () => {
    const own = new SourceSchemas();
    own.register(
      'meter',
      Type.Object({ key: Type.String(), id: Type.Integer() }, { additionalProperties: false }),
    );
    const rule = sourceRulesFor(own);
    const parsed = parseConfigText(config('  - type: meter\n    key: m\n    id: 7\n'), [rule]);
    assert.ok(parsed.ok, JSON.stringify(parsed));
    const bad = parseConfigText(config('  - type: meter\n    key: m\n    id: seven\n'), [rule]);
    assert.ok(!bad.ok && bad.problems.some((p) => p.path === '/sources/0/id'), JSON.stringify(bad));
  });
});

describe('simulated site', () => {
  const section = {
    key: 'site',
    seed: 'demo-Berlin',
    stepSeconds: 60,
    historyDays: 31,
    location: { latitude: 52.52, longitude: 13.4, timezone: 'Europe/Berlin' },
    pv: { peakW: 8000 },
  };
  const site = { latitude: 0, longitude: 0, timezone: 'UTC' };

  it("builds the model from a section with defaults, the section's location first", () => {
    const model = simulatorModel(section, site);
    assert.deepEqual(model.site, section.location);
    assert.equal(model.pvPeakW, 8000);
    assert.equal(model.loadBaseW, 250);
    assert.equal(model.battery, undefined);
  });

  it('starts at UTC midnight historyDays before the first instant, and is reproducible', () => {
    const first = Date.parse('2026-06-21T10:17:00Z');
    const origin = simulatorOrigin(section, first);
    assert.equal(new Date(origin).toISOString(), '2026-05-21T00:00:00.000Z');
    const noon = Date.parse('2026-06-21T11:00:00Z');
    const a = simulateAt(createSimState(simulatorModel(section, site), origin), noon).snapshot;
    const b = simulateAt(createSimState(simulatorModel(section, site), origin), noon).snapshot;
    assert.deepEqual(a, b);
    assert.ok(a.solar_w > 0, 'PV by day in Berlin in June');
    const night = Date.parse('2026-06-21T23:30:00Z');
    assert.equal(
      simulateAt(createSimState(simulatorModel(section, site), origin), night).snapshot.solar_w,
      0,
    );
  });

  it('reads local time from the zone (summer time in Berlin)', () => {
    const ts = Date.parse('2026-07-01T22:30:00Z');
    assert.equal(zoneOffset('Europe/Berlin', ts), 2 * 3_600_000);
    assert.equal(localDate('Europe/Berlin', ts), '2026-07-02');
  });
});

describe('the package stands on its own', () => {
  it('exports the same things from its root as from its entry points', () => {
    assert.equal(root.parseConfigText, parseConfigText);
    assert.equal(root.sourceRules, sourceRules);
    assert.equal(root.simulateAt, simulateAt);
    assert.equal(root.zoneOffset, zoneOffset);
  });

  it('imports neither the agent nor the hub', () => {
    const src = resolve(import.meta.dirname, '../src');
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (name.endsWith('.ts')) files.push(p);
      }
    };
    walk(src);
    const offending = files.flatMap((f) =>
      ts
        .preProcessFile(readFileSync(f, 'utf8'), true, true)
        .importedFiles.map((i) => i.fileName)
        .filter((s) => /^@wattfleet\/(edge|hub|web)(\/|$)/.test(s) || /\.\.\/\.\.\/(edge|hub|web)\//.test(s))
        .map((s) => `${f}: ${s}`),
    );
    assert.deepEqual(offending, []);
  });
});
