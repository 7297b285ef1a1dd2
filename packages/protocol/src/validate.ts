// One compiled validator per schema, used at every boundary (HTTP, MQTT, config files).
import type { Static, TSchema } from 'typebox';
import { Compile, type Validator } from 'typebox/compile';
import type { Problem } from './errors.ts';

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
