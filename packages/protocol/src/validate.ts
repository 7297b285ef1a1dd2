// One compiled validator per schema, used at every boundary (HTTP, MQTT, config files).
import type { Static, TSchema } from 'typebox';
import { Compile, type Validator } from 'typebox/compile';
import { Settings } from 'typebox/system';
import type { Problem } from './errors.ts';
// Registers the strict formats before anything here compiles a schema.
import './formats.ts';

// TypeBox stops after 8 errors by default; we promise every problem at once. The bound still
// protects against pathological inputs (a 5,000-sample batch of garbage lists its first 1,000).
if (Settings.Get().maxErrors < 1000) Settings.Set({ maxErrors: 1000 });

export interface Checker<T extends TSchema> {
  readonly schema: T;
  check(value: unknown): value is Static<T>;
  /** Every problem at once, never only the first. */
  problems(value: unknown, basePath?: string): Problem[];
}

export function checker<T extends TSchema>(schema: T): Checker<T> {
  // biome-ignore lint/suspicious/noExplicitAny: Validator generics are too deep to spell here.
  const validator: Validator<any, T> = Compile(schema) as any;
  return {
    schema,
    check: (value: unknown): value is Static<T> => validator.Check(value),
    problems: (value: unknown, basePath = '') =>
      validator.Errors(value).map((e) => ({
        path: basePath + (e.instancePath || ''),
        message: e.message,
      })),
  };
}
