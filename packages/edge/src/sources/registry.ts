// Sources register `type → factory`; the agent builds each configured source through here, so a
// config section is always validated against its factory's schema (every problem listed) first.
import { SourceSchemas } from '@wattfleet/devices/sources';
import { type Problem, WattfleetError } from '@wattfleet/protocol';
import { builtinSources } from './builtins.ts';
import type { Source, SourceContext, SourceFactory } from './types.ts';

export class SourceRegistry {
  readonly #factories = new Map<string, SourceFactory>();
  /** The sections' checks, the same code the hub's config validator runs (@wattfleet/devices). */
  readonly #schemas = new SourceSchemas();

  register<C>(factory: SourceFactory<C>): void {
    this.#schemas.register(factory.type, factory.configSchema);
    this.#factories.set(factory.type, factory as SourceFactory);
  }

  types(): string[] {
    return this.#schemas.types();
  }

  /** Every problem in a config section, without building anything (for config pages and dry runs). */
  problems(type: string, config: unknown, basePath = ''): Problem[] {
    return this.#schemas.problems(type, config, basePath);
  }

  async create(type: string, config: unknown, context: SourceContext): Promise<Source> {
    const problems = this.problems(type, config);
    if (problems.length > 0) {
      throw new WattfleetError('WF_VALIDATION', `invalid config for source type "${type}"`, problems);
    }
    return await this.#factories.get(type)!.create(config, context);
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
