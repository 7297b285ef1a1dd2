// The agent's own version, reported in enrollment and heartbeats. Read from package.json at
// start so a release directory always reports the code it actually runs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EDGE_ROOT } from './paths.ts';

const pkg = JSON.parse(readFileSync(join(EDGE_ROOT, 'package.json'), 'utf8')) as {
  version: string;
};
export const AGENT_VERSION: string = pkg.version;
