// Sources register `type → factory`; the agent builds each configured source through here, so a
// config section is always validated against its factory's schema (every problem listed) first.
import { type Checker, checker, type Problem, WattfleetError } from '@wattfleet/protocol';
import type { TSchema } from 'typebox';
import { builtinSources } from './builtins.ts';
import type { Source, SourceContext, SourceFactory } from './types.ts';

export class SourceRegistry {
  readonly #factories = new Map<string, { factory: SourceFactory; check: Checker<TSchema> }>();

  register<C>(factory: SourceFactory<C>): void {
    if (this.#factories.has(factory.type))
      throw new Error(`source type "${factory.type}" is already registered`);
    this.#factories.set(factory.type, {
      factory: factory as SourceFactory,
      check: checker(factory.configSchema),
    });
  }

  types(): string[] {
    return [...this.#factories.keys()].sort();
  }

  /** Every problem in a config section, without building anything (for config pages and dry runs). */
  problems(type: string, config: unknown, basePath = ''): Problem[] {
    const entry = this.#factories.get(type);
    if (!entry) {
      return [
        {
          path: `${basePath}/type`,
          message: `unknown source type "${type}" (known: ${this.types().join(', ')})`,
        },
      ];
    }
    return entry.check.problems(config, basePath);
  }

  async create(type: string, config: unknown, context: SourceContext): Promise<Source> {
    const problems = this.problems(type, config);
    if (problems.length > 0) {
      throw new WattfleetError('WF_VALIDATION', `invalid config for source type "${type}"`, problems);
    }
    return await this.#factories.get(type)!.factory.create(config, context);
  }
}

/** The agent's registry, holding the built-in sources. */
export const sourceRegistry = new SourceRegistry();
for (const factory of builtinSources) sourceRegistry.register(factory);

export function registerSource<C>(factory: SourceFactory<C>): void {
  sourceRegistry.register(factory);
}

export function createSource(type: string, config: unknown, context: SourceContext): Promise<Source> {
  return sourceRegistry.create(type, config, context);
}
