// Public face of the edge package: the runtime for embedding (demo, tests) and the sources.
export { type ConfigResult, loadConfigFile, parseConfigText } from './config/load.ts';
export { AgentConfig, CONFIG_VERSION } from './config/schema.ts';
export { enroll } from './identity/enroll.ts';
export { loadIdentity, type NodeIdentity } from './identity/identity.ts';
export { Outbox } from './outbox/outbox.ts';
export { Agent, type AgentOptions, readConfig } from './runtime/agent.ts';
export * from './sources/index.ts';
export { AGENT_VERSION } from './version.ts';
