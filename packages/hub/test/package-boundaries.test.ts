// The hub must not depend on the agent (issue #18 item 3): what both sides need (the agent config,
// source schemas, the simulated site) is in @wattfleet/devices. A static check of every import
// specifier under packages/hub/src (static and dynamic imports, re-exports, require) and of the
// hub's package.json, so a new `import … from '@wattfleet/edge…'` fails here, not in production.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';

const HUB = resolve(import.meta.dirname, '..');
const EDGE = resolve(HUB, '../edge');

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sourceFiles(p, out);
    else if (/\.(c|m)?[jt]sx?$/.test(name)) out.push(p);
  }
  return out;
}

/** Every module specifier a file names: import/export … from, import(), require(). */
function specifiers(text: string): string[] {
  const info = ts.preProcessFile(text, true, true);
  return info.importedFiles.map((f) => f.fileName);
}

/** Why a specifier in `file` reaches the edge package, or undefined when it does not. */
function edgeImport(file: string, spec: string): string | undefined {
  if (spec === '@wattfleet/edge' || spec.startsWith('@wattfleet/edge/')) return spec;
  if (spec.startsWith('.')) {
    const target = resolve(dirname(file), spec);
    if (target === EDGE || target.startsWith(`${EDGE}/`)) return `${spec} (inside packages/edge)`;
  }
  return undefined;
}

describe('package boundaries', () => {
  it('finds edge imports in every form (self-check of the scanner)', () => {
    const file = join(HUB, 'src/fleet/x.ts');
    const text = [
      "import { a } from '@wattfleet/edge/config';",
      "import type { B } from '@wattfleet/edge';",
      "export { c } from '@wattfleet/edge/sources';",
      "const d = await import('@wattfleet/edge/config-rules');",
      "import '../../../edge/src/index.ts';",
      "import { e } from '@wattfleet/devices/config';",
      "import { f } from '@wattfleet/edgeways';",
    ].join('\n');
    const found = specifiers(text).filter((s) => edgeImport(file, s));
    assert.deepEqual(found, [
      '@wattfleet/edge/config',
      '@wattfleet/edge',
      '@wattfleet/edge/sources',
      '@wattfleet/edge/config-rules',
      '../../../edge/src/index.ts',
    ]);
  });

  it('no file in packages/hub/src imports the edge package', () => {
    const files = sourceFiles(join(HUB, 'src'));
    assert.ok(files.length > 50, `expected the hub's sources, found ${files.length} files`);
    const offending = files.flatMap((file) =>
      specifiers(readFileSync(file, 'utf8')).flatMap((spec) => {
        const why = edgeImport(file, spec);
        return why ? [`${relative(HUB, file)}: ${why}`] : [];
      }),
    );
    assert.deepEqual(offending, [], 'use @wattfleet/devices (or protocol) for what the agent and hub share');
  });

  it("the hub's package.json does not depend on @wattfleet/edge", () => {
    const pkg = JSON.parse(readFileSync(join(HUB, 'package.json'), 'utf8')) as Record<
      string,
      Record<string, string> | undefined
    >;
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
      assert.equal(pkg[field]?.['@wattfleet/edge'], undefined, `${field} lists @wattfleet/edge`);
    }
    assert.ok(pkg.dependencies?.['@wattfleet/devices'], 'the hub depends on @wattfleet/devices');
  });
});
