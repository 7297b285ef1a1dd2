// Where the edge package lives on disk. This file sits one level below the package root, and so
// does every file of the bundle (dist/agent.mjs and its chunks), so the same relative URL finds the
// root whether the agent runs from source (tests, tsx) or from the bundle (production).
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const EDGE_ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The checkout (release directory) the agent runs from: packages/edge/../.. */
export const APP_ROOT = resolve(EDGE_ROOT, '../..');
