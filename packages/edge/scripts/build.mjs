#!/usr/bin/env node
// Builds the agent as it runs in production: one ES module bundle, dist/agent.mjs (plus chunks for
// code loaded only on demand), run with plain `node`. Running from TypeScript through the tsx
// loader costs ~30 MB of resident memory for the loader and the compiler's heap; on a Raspberry Pi
// that runs for years that is most of the agent's footprint (bench: `npm run bench -- agent-rss`).
// Plain .mjs on purpose: it runs where only production dependencies are installed (SELF_UPDATE
// builds inside the new release before its self-test), so it needs nothing but esbuild.
//   node packages/edge/scripts/build.mjs [--outdir DIR]
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const EDGE = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
// dist/ must stay one level below the package root: src/paths.ts finds package.json and the
// templates from there.
const outdir = resolve(values.outdir ?? join(EDGE, 'dist'));

// Left to node_modules at run time: native addons (a .node file found relative to the package),
// what only tests and the demo load (the Modbus device stand-in), and node-opcua (loaded only
// when an opcua source is configured; it reads data files next to its own modules).
const external = [
  'better-sqlite3',
  'modbus-serial',
  'serialport',
  '@serialport/*',
  'jsmodbus',
  'node-opcua-*',
];

// Built beside dist/ and then moved in file by file (rename is atomic): an agent, a test or the
// benchmark starting the bundle meanwhile finds the old file or the new one, never half of one.
const staging = `${outdir}.tmp-${process.pid}`;
rmSync(staging, { recursive: true, force: true });
const result = await build({
  entryPoints: { agent: join(EDGE, 'src/cli.ts') },
  outdir: staging,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  // Code behind a dynamic import() (the Modbus client, …) becomes a chunk loaded only when used.
  splitting: true,
  chunkNames: 'chunk-[hash]',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  // V8 keeps the whole source text on its heap for the process's life, as a two-byte string as
  // soon as one character (even in a comment) is outside Latin-1: whitespace and comments go,
  // and the output is ASCII. Names are kept (readable stack traces in FETCH_LOGS), and lines are
  // broken so that node's "source line of an uncaught error" is a line, not the whole bundle.
  minifyWhitespace: true,
  minifySyntax: true,
  lineLimit: 200,
  charset: 'ascii',
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
  // CommonJS dependencies inside an ES module bundle still call require() for node built-ins.
  banner: {
    js: "import { createRequire as __wfCreateRequire } from 'node:module'; const require = __wfCreateRequire(import.meta.url);",
  },
});
// The entry point's `#!… --import tsx` line would come along; the bundle needs only node.
const entry = join(staging, 'agent.mjs');
writeFileSync(entry, readFileSync(entry, 'utf8').replace(/^#![^\n]*/, '#!/usr/bin/env node'));
writeFileSync(join(staging, 'meta.json'), JSON.stringify(result.metafile));
mkdirSync(outdir, { recursive: true });
const built = readdirSync(staging);
for (const f of built) renameSync(join(staging, f), join(outdir, f));
for (const f of readdirSync(outdir)) if (!built.includes(f)) rmSync(join(outdir, f), { force: true });
rmSync(staging, { recursive: true, force: true });
const bytes = Object.values(result.metafile.outputs).reduce((a, o) => a + o.bytes, 0);
process.stdout.write(`built ${join(outdir, 'agent.mjs')} (${(bytes / 1024).toFixed(0)} kB)\n`);
