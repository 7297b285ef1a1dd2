// The strict formats and the text rule every schema shares (issue #19 item 10).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Type from 'typebox';
import {
  checker,
  Int4,
  isSafeText,
  isStrictDate,
  isStrictDateTime,
  MONTH_PATTERN,
  unsafeTextProblems,
} from '../src/index.ts';

describe('strict formats', () => {
  it('date-time: RFC 3339 with an offset that JavaScript and PostgreSQL both take', () => {
    for (const ok of [
      '2024-05-01T00:00:00Z',
      '2024-05-01T23:59:59.123456+05:30',
      '2024-02-29t10:00:00z',
      '9999-12-31T23:59:59Z',
    ])
      assert.ok(isStrictDateTime(ok), ok);
    for (const bad of [
      '2024-05-01T00:00:00Z[UTC]',
      '2016-12-31T23:59:60Z',
      '2024-05-01T24:00:00Z',
      '2024-05-01T00:00:00',
      '0000-01-01T00:00:00Z',
      '10000-01-01T00:00:00Z',
      '2023-02-29T00:00:00Z',
      '2024-05-01T00:00:00+24:00',
      '1969-12-31T23:59:59Z',
    ])
      assert.ok(!isStrictDateTime(bad), bad);
    const c = checker(Type.Object({ at: Type.String({ format: 'date-time' }) }));
    assert.equal(c.check({ at: '2016-12-31T23:59:60Z' }), false, 'the registry uses the strict check');
  });

  it('date and month: real calendar days in years 1970-9999', () => {
    assert.ok(isStrictDate('2024-02-29'));
    for (const bad of ['2023-02-29', '2024-02-30', '0000-01-01', '10000-01-01', '2024-13-01', '2024-1-01'])
      assert.ok(!isStrictDate(bad), bad);
    const month = new RegExp(MONTH_PATTERN);
    assert.ok(month.test('2024-12'));
    for (const bad of ['2024-13', '2024-00', '0000-01', '10000-01']) assert.ok(!month.test(bad), bad);
  });

  it('Int4 narrows bounds to a PostgreSQL integer', () => {
    const c = checker(Int4({ minimum: 0 }));
    assert.ok(c.check(2_147_483_647));
    assert.ok(!c.check(2_147_483_648));
    assert.ok(!c.check(-1));
  });
});

describe('text rule', () => {
  it('refuses NUL and lone surrogates, keeps paired ones', () => {
    assert.ok(isSafeText('plain 🔥 é'));
    for (const bad of ['a\u0000b', '\ud800', 'x\udfffy', '\ud83d'])
      assert.ok(!isSafeText(bad), JSON.stringify(bad));
  });

  it('lists every offending value and key with a JSON pointer, iteratively', () => {
    let deep: unknown = 'a\u0000';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assert.equal(unsafeTextProblems(deep).length, 1, 'deep nesting does not overflow the stack');
    const problems = unsafeTextProblems({ ok: 'x', bad: ['y', '\ud800'], 'k\u0000': 1 }, '/body');
    assert.deepEqual(problems.map((p) => p.path).sort(), ['/body/bad/1', '/body/k\\0']);
    assert.ok(JSON.stringify(problems).length > 0 && problems.every((p) => isSafeText(p.path)));
  });
});
