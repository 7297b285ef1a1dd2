// Issue #16.1: production runs the hub as a built bundle with plain node. The bundle built by
// packages/hub/scripts/build.mjs starts on both engines (PGlite's WebAssembly and argon2's native
// addon are left to node_modules and must still load), serves the API and the OpenAPI UI, logs an
// admin in, and exits cleanly on SIGTERM.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createPgDatabase } from '../helpers/engines.ts';
import { HUB_BUILD_SCRIPT, HUB_BUNDLE, HubProcess } from '../helpers/hub-process.ts';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

const OPTIONAL = new Set(['pg-native', 'bufferutil', 'utf-8-validate']);
const ADMIN = { email: 'bundle-admin@example.org', password: 'bundle-test-password-1' };

before(() => {
  execFileSync(process.execPath, [HUB_BUILD_SCRIPT], { stdio: 'pipe' });
});

it('the bundle has no TypeScript loader in it and needs only node', () => {
  const text = readFileSync(HUB_BUNDLE, 'utf8');
  assert.match(text.split('\n', 1)[0]!, /^#!\/usr\/bin\/env node$/);
  assert.doesNotMatch(text, /--import tsx/);
  // What the bundle leaves to node_modules must be a production dependency of the hub, or the
  // systemd unit and the image (which install those only) could not start it.
  const meta = JSON.parse(readFileSync(join(HUB_BUNDLE, '..', 'meta.json'), 'utf8')) as {
    outputs: Record<string, { imports: { path: string; external?: boolean }[] }>;
  };
  const deps = Object.keys(
    (
      JSON.parse(readFileSync(join(HUB_BUNDLE, '..', '..', 'package.json'), 'utf8')) as {
        dependencies: Record<string, string>;
      }
    ).dependencies,
  );
  const externals = new Set<string>();
  for (const out of Object.values(meta.outputs))
    for (const imp of out.imports)
      if (imp.external && !imp.path.startsWith('node:') && !imp.path.startsWith('.')) externals.add(imp.path);
  for (const ext of externals) {
    const pkg = ext.startsWith('@') ? ext.split('/').slice(0, 2).join('/') : ext.split('/')[0]!;
    // Optional bindings their users require inside try/catch: pg's native client, ws's speed-ups.
    if (OPTIONAL.has(pkg)) continue;
    assert.ok(
      deps.includes(pkg) || builtinModules.includes(ext),
      `${ext} is external but not a dependency of the hub`,
    );
  }
});

for (const engine of ['postgres', 'pglite'] as const) {
  describe(`the bundle on ${engine}`, () => {
    let hub: HubProcess;
    let dataDir: string;
    let drop = async () => {};

    before(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'wf-bundle-'));
      const env: NodeJS.ProcessEnv = {
        PORT: String(await freePort()),
        HOST: '127.0.0.1',
        MQTT_PORT: String(await freePort()),
        WATTFLEET_DATA_DIR: dataDir,
        WATTFLEET_ADMIN_EMAIL: ADMIN.email,
        WATTFLEET_ADMIN_PASSWORD: ADMIN.password,
        LOG_FORMAT: 'json',
        DATABASE_URL: '',
      };
      if (engine === 'postgres') {
        const db = await createPgDatabase();
        env.DATABASE_URL = db.url;
        drop = db.drop;
      }
      hub = new HubProcess(env, [], HUB_BUNDLE);
      await hub.start();
    });

    after(async () => {
      await hub?.kill();
      await drop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('answers, serves the OpenAPI UI and logs an admin in', async () => {
      const health = await fetch(`${hub.url}/healthz`);
      assert.equal(health.status, 200);
      const docs = await fetch(`${hub.url}/api/docs/json`);
      assert.equal(docs.status, 200);
      assert.ok(((await docs.json()) as { paths: object }).paths);
      const ui = await fetch(`${hub.url}/api/docs/static/index.html`);
      assert.equal(ui.status, 200, 'swagger-ui assets load from node_modules');
      const login = await fetch(`${hub.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(ADMIN),
      });
      assert.equal(login.status, 200, await login.text());
      if (engine === 'pglite') assert.ok(existsSync(dataDir), 'PGlite data directory in use');
    });

    it('stops cleanly on SIGTERM', async () => {
      const child = hub.child!;
      await hub.stop();
      assert.equal(child.exitCode, 0, hub.output.slice(-2000));
    });
  });
}
