#!/usr/bin/env node
// `npm start`: build the portal if needed, then start the hub on the embedded defaults (PGlite in
// ./data, embedded MQTT broker) with the demo fleet. DATABASE_URL / MQTT_URL switch to production parts.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
if (existsSync(`${root}packages/web/vite.config.ts`) && !existsSync(`${root}packages/web/dist/index.html`)) {
  console.log('building the portal (first start only)…');
  const r = spawnSync('npm', ['run', 'build', '-w', '@wattfleet/web'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
const demo = process.env.WATTFLEET_DEMO === '0' ? [] : ['--demo'];
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', `${root}packages/hub/src/cli.ts`, 'start', ...demo],
  {
    stdio: 'inherit',
    env: process.env,
  },
);
process.exit(r.status ?? 1);
