// Builds the configured sources through the registry. A source that cannot be built is reported
// and skipped: one broken device must not take the whole agent down.
import { dirname } from 'node:path';
import type { AgentConfig, ConfigRule } from '@wattfleet/devices/config';
import { sourceRulesFor } from '@wattfleet/devices/sources';
import type { Logger } from 'pino';
import { BUILTIN_TEMPLATES_DIR } from '../sources/modbus/source.ts';
import { createSource, sourceRegistry } from '../sources/registry.ts';
import type { Source } from '../sources/types.ts';

/** The registry validates each source section with its factory's schema; `type` is ours. */
export const sourceRules: ConfigRule = sourceRulesFor(sourceRegistry);

export async function buildSources(
  config: AgentConfig,
  logger?: Logger,
): Promise<{ sources: Map<string, Source>; failures: { key: string; error: string }[] }> {
  const sources = new Map<string, Source>();
  const failures: { key: string; error: string }[] = [];
  const context = {
    site: { latitude: config.site.lat, longitude: config.site.lon, timezone: config.site.timezone },
    templatesDir: BUILTIN_TEMPLATES_DIR,
    // Beside the outbox: the agent's own state (e.g. its OPC UA certificates) lives there.
    dataDir: dirname(config.outbox.path),
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
