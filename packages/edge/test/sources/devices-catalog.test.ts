// The hub validates agent configs with @wattfleet/devices' built-in source schemas; the agent
// builds sources through its registry. Both must know the same types with the same schemas, or
// "valid in the editor" would stop meaning "accepted by the agent".
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUILTIN_SOURCE_SCHEMAS, builtinSourceSchemas, sourceRules } from '@wattfleet/devices/sources';
import { sourceRules as agentSourceRules } from '../../src/runtime/sources.ts';
import { builtinSources } from '../../src/sources/builtins.ts';
import { sourceRegistry } from '../../src/sources/registry.ts';

describe("the agent's built-in sources and @wattfleet/devices", () => {
  it('know the same source types', () => {
    assert.deepEqual(sourceRegistry.types(), builtinSourceSchemas.types());
  });

  it("check each type's section with the very same schema", () => {
    for (const factory of builtinSources) {
      assert.equal(factory.configSchema, BUILTIN_SOURCE_SCHEMAS[factory.type], factory.type);
    }
  });

  it('report the same problems for a config', () => {
    const config = {
      sources: [
        { type: 'simulator', key: 'sim' },
        { type: 'modbus-tcp', key: 'm', host: '', templates: [] },
        { type: 'pigeon', key: 'p' },
      ],
    } as unknown as Parameters<typeof sourceRules>[0];
    const problems = sourceRules(config);
    assert.ok(problems.length >= 4, JSON.stringify(problems));
    assert.deepEqual(agentSourceRules(config), problems);
  });
});
