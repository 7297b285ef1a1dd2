// The agent's own version, reported in enrollment and heartbeats. Read from package.json at
// start so a release directory always reports the code it actually runs.
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};
export const AGENT_VERSION: string = pkg.version;
