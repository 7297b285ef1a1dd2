#!/usr/bin/env node
// Builds the hub as it runs in production: one ES module bundle, dist/hub.mjs, run with plain
// `node` (systemd unit, Docker image). Running from TypeScript through the tsx loader costs start
// time (every module transpiled on each start) and the loader's memory for the process's life
// (bench: `npm run bench -- hub-rss`).
// Plain .mjs on purpose: it runs in a Docker build stage or on a server with only esbuild added.
//   node packages/hub/scripts/build.mjs [--outdir DIR]
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const HUB = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
// dist/ stays one level below the package root: web.plugin.ts finds the portal's files from there.
const outdir = resolve(values.outdir ?? join(HUB, 'dist'));

// Left to node_modules at run time: native addons (argon2), packages that load files next to
// their own modules (PGlite's WebAssembly and data, swagger-ui's static assets), pino and its
// transports (worker threads started from file paths), and pg's optional native binding.
const external = [
  '@electric-sql/pglite',
  '@electric-sql/pglite/*',
  '@node-rs/argon2',
  '@fastify/swagger-ui',
  '@fastify/static',
  'pino',
  'pino-pretty',
  'pg-native',
];

// Built beside dist/ and moved in file by file (rename is atomic): a hub starting meanwhile finds
// the old file or the new one, never half of one.
const staging = `${outdir}.tmp-${process.pid}`;
rmSync(staging, { recursive: true, force: true });
const result = await build({
  entryPoints: { hub: join(HUB, 'src/cli.ts') },
  outdir: staging,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  chunkNames: 'chunk-[hash]',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  // Whitespace and comments go (V8 keeps the source text for the process's life); names stay for
  // readable stack traces; lines are broken so an uncaught error's source line is a line.
  minifyWhitespace: true,
  minifySyntax: true,
  lineLimit: 200,
  charset: 'ascii',
  legalComments: 'none',
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
  // CommonJS dependencies inside an ES module bundle still call require() for node built-ins.
  banner: {
    js: "import { createRequire as __wfCreateRequire } from 'node:module'; const require = __wfCreateRequire(import.meta.url);",
  },
});
// The entry point's `#!… --import tsx` line would come along; the bundle needs only node.
const entry = join(staging, 'hub.mjs');
writeFileSync(entry, `#!/usr/bin/env node\n${readFileSync(entry, 'utf8').replace(/^#![^\n]*\n/m, '')}`);
writeFileSync(join(staging, 'meta.json'), JSON.stringify(result.metafile));
mkdirSync(outdir, { recursive: true });
const built = readdirSync(staging);
for (const f of built) renameSync(join(staging, f), join(outdir, f));
for (const f of readdirSync(outdir)) if (!built.includes(f)) rmSync(join(outdir, f), { force: true });
rmSync(staging, { recursive: true, force: true });
const bytes = Object.values(result.metafile.outputs).reduce((a, o) => a + o.bytes, 0);
process.stdout.write(`built ${join(outdir, 'hub.mjs')} (${(bytes / 1024).toFixed(0)} kB with source map)\n`);
