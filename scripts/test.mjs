#!/usr/bin/env node
// One entry point for everything CI checks: types, lint/format, generated-file drift, tests.
// Usage: npm test [-- --only=typecheck|lint|drift|tests] [-- file-filter ...]
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const only = args.find((a) => a.startsWith('--only='))?.slice(7);
const filters = args.filter((a) => !a.startsWith('--'));
const root = new URL('..', import.meta.url).pathname;

function run(label, cmd, cmdArgs, env = {}) {
  console.log(`\n== ${label}: ${cmd} ${cmdArgs.join(' ')}`);
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) {
    console.error(`\n${label} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
}

function findTests(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

// The workspace packages (root package.json); bench is type-checked too but has no tests.
const packages = ['packages/protocol', 'packages/devices', 'packages/hub', 'packages/edge', 'packages/web'];
const tsc = join(root, 'node_modules/.bin/tsc');
if (!only || only === 'typecheck') {
  for (const p of [...packages, 'bench']) {
    if (existsSync(join(root, p, 'tsconfig.json'))) run(`typecheck ${p}`, tsc, ['-p', p]);
  }
}
if (!only || only === 'lint') run('lint', join(root, 'node_modules/.bin/biome'), ['check', '.']);
if ((!only || only === 'drift') && existsSync(join(root, 'packages/hub/scripts/openapi.ts'))) {
  run('openapi drift', process.execPath, ['--import', 'tsx', 'packages/hub/scripts/openapi.ts', '--check']);
}
if (!only || only === 'tests') {
  const all = packages.flatMap((p) => findTests(join(root, p, 'test')));
  const files = filters.length ? all.filter((f) => filters.some((x) => f.includes(x))) : all;
  if (files.length === 0) {
    console.error('no test files found');
    process.exit(1);
  }
  run('tests', process.execPath, [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=2',
    '--test-timeout=240000',
    ...files,
  ]);
}
