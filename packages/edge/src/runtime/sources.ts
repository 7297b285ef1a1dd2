// Builds the configured sources through the registry. A source that cannot be built is reported
// and skipped: one broken device must not take the whole agent down.
import type { Problem } from '@wattfleet/protocol';
import type { Logger } from 'pino';
import type { ConfigRule } from '../config/load.ts';
import type { AgentConfig } from '../config/schema.ts';
import { BUILTIN_TEMPLATES_DIR } from '../sources/modbus/source.ts';
import { createSource, sourceRegistry } from '../sources/registry.ts';
import type { Source } from '../sources/types.ts';

/** The registry validates each source section with its factory's schema; `type` is ours. */
export const sourceRules: ConfigRule = (config) =>
  config.sources.flatMap((section, i): Problem[] => {
    const { type, ...rest } = section;
    return sourceRegistry.problems(type, rest, `/sources/${i}`);
  });

export async function buildSources(
  config: AgentConfig,
  logger?: Logger,
): Promise<{ sources: Map<string, Source>; failures: { key: string; error: string }[] }> {
  const sources = new Map<string, Source>();
  const failures: { key: string; error: string }[] = [];
  const context = {
    site: { latitude: config.site.lat, longitude: config.site.lon, timezone: config.site.timezone },
    templatesDir: BUILTIN_TEMPLATES_DIR,
  };
  for (const section of config.sources) {
    const { type, ...rest } = section;
    try {
      sources.set(section.key, await createSource(type, rest, context));
    } catch (err) {
      failures.push({ key: section.key, error: (err as Error).message });
      logger?.error({ source: section.key, err: (err as Error).message }, 'source could not be created');
    }
  }
  return { sources, failures };
}

export async function closeSources(sources: Map<string, Source>): Promise<void> {
  await Promise.all([...sources.values()].map((s) => s.close?.().catch(() => {})));
}
