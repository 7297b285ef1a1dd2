// The agent config as both sides read it: schema, migrations, YAML limits and the parser with its
// built-in rules. Source sections are checked by their own schemas (../sources).
export { CONFIG_MIGRATIONS, type ConfigMigration, migrateConfig } from './migrations.ts';
export { builtinRules, type ConfigResult, type ConfigRule, parseConfigText } from './parse.ts';
export { AgentConfig, CONFIG_VERSION, HubSection, SourceSection } from './schema.ts';
export { insecureHubUrl } from './transport-security.ts';
export {
  CONFIG_LIMITS,
  MAX_ALIAS_EXPANSION,
  SAFE_YAML_OPTIONS,
  type YamlLimits,
  yamlLimitProblems,
} from './yaml-limits.ts';
