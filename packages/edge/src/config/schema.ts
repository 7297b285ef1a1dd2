// The agent's configuration schema lives in @wattfleet/devices (the hub validates with it too).
export { AgentConfig, CONFIG_VERSION, HubSection, SourceSection } from '@wattfleet/devices/config';
