// Issue #16.6 (part): the hub's deploy files. Docker and systemd cannot run on this machine, so
// this checks what they reference instead of running them: every file a compose service or the
// Dockerfile copies or mounts exists (after the builds), every named volume is declared, published
// ports do not collide, Mosquitto's password/ACL/pid paths are on volumes the hub shares and agree
// with the hub's MOSQUITTO_* settings, the image runs as a non-root user with a health check, and
// the systemd unit starts the built bundle with plain node.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const HUB_DEPLOY = join(ROOT, 'deploy/hub');

interface Service {
  build?: { context: string; dockerfile: string };
  image?: string;
  env_file?: string;
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  network_mode?: string;
  pid?: string;
}

const compose = parse(readFileSync(join(HUB_DEPLOY, 'compose.yaml'), 'utf8')) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};

/** `source:target[:mode]` → parts. */
function mount(spec: string): { source: string; target: string } {
  const [source = '', target = ''] = spec.split(':');
  return { source, target };
}

describe('deploy/hub/compose.yaml (single node: hub + PostgreSQL + Mosquitto)', () => {
  it('has the three services, and what each builds from or mounts exists', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), ['hub', 'mosquitto', 'postgres']);
    for (const [name, svc] of Object.entries(compose.services)) {
      if (svc.build) {
        const context = resolve(HUB_DEPLOY, svc.build.context);
        assert.ok(existsSync(join(context, svc.build.dockerfile)), `${name}: ${svc.build.dockerfile}`);
      } else assert.ok(svc.image, `${name} has an image or a build`);
      if (svc.env_file)
        assert.ok(
          existsSync(join(HUB_DEPLOY, `${svc.env_file}.example`)),
          `${name}: ${svc.env_file}.example`,
        );
      for (const v of svc.volumes ?? []) {
        const { source } = mount(v);
        if (source.startsWith('.') || source.startsWith('/'))
          assert.ok(existsSync(resolve(HUB_DEPLOY, source)), `${name} mounts ${source}, which exists`);
        else assert.ok(source in compose.volumes, `${name}: volume ${source} is declared`);
      }
    }
  });

  it('publishes each host port once', () => {
    const hostPorts = Object.values(compose.services).flatMap((s) =>
      (s.ports ?? []).map((p) => p.split(':')[0]),
    );
    assert.equal(new Set(hostPorts).size, hostPorts.length, hostPorts.join(','));
    assert.ok(hostPorts.includes('8080'), 'the portal is published');
  });

  it("Mosquitto's password, ACL and pid files are where the hub writes and signals", () => {
    const conf = readFileSync(join(HUB_DEPLOY, 'mosquitto.compose.conf'), 'utf8');
    const setting = (k: string) => new RegExp(`^${k}\\s+(\\S+)`, 'm').exec(conf)?.[1];
    const hub = compose.services.hub!;
    const broker = compose.services.mosquitto!;
    assert.equal(hub.environment?.MOSQUITTO_PASSWORD_FILE, setting('password_file'));
    assert.equal(hub.environment?.MOSQUITTO_ACL_FILE, setting('acl_file'));
    assert.equal(hub.environment?.MOSQUITTO_PID_FILE, setting('pid_file'));
    // Signalling needs the broker's pid namespace; the loopback listener needs its network.
    assert.equal(hub.pid, 'service:mosquitto');
    assert.equal(hub.network_mode, 'service:mosquitto');
    assert.match(conf, /^listener 1883 127\.0\.0\.1$/m);
    assert.equal(hub.environment?.MQTT_URL, 'mqtt://127.0.0.1:1883');
    for (const file of [setting('password_file'), setting('pid_file')]) {
      const dir = dirname(file!);
      const shared = (svc: Service) => (svc.volumes ?? []).map(mount).find((m) => m.target === dir)?.source;
      assert.ok(shared(hub), `the hub mounts ${dir}`);
      assert.equal(shared(hub), shared(broker), `${dir} is the same volume in both`);
    }
    const dockerfile = readFileSync(join(HUB_DEPLOY, 'Dockerfile'), 'utf8');
    assert.match(dockerfile, /useradd --system --uid 1883 /, 'same uid as the eclipse-mosquitto user');
  });
});

describe('deploy/hub/Dockerfile', () => {
  const text = readFileSync(join(HUB_DEPLOY, 'Dockerfile'), 'utf8');
  const final = text.slice(text.lastIndexOf('\nFROM '));

  it('runs the bundle as a non-root user with a health check', () => {
    const user = /^USER (\S+)/m.exec(final)?.[1];
    assert.ok(user && user !== 'root' && user !== '0', `USER ${user}`);
    assert.match(final, /^HEALTHCHECK .*\n.*\/healthz/m);
    assert.match(final, /^CMD \["node", "--enable-source-maps", "packages\/hub\/dist\/hub\.mjs", "start"\]/m);
    assert.doesNotMatch(final, /tsx/);
  });

  it('copies into its build stages only files the repository has', () => {
    for (const m of text.matchAll(/^COPY (?!--from)(\S+) /gm)) {
      const src = m[1]!;
      if (src === '.') continue;
      assert.ok(existsSync(join(ROOT, src)), `COPY ${src}`);
    }
    // Every workspace's package.json, or `npm ci` in the image would not match the lockfile.
    const workspaces = (
      JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { workspaces: string[] }
    ).workspaces;
    for (const w of workspaces) assert.match(text, new RegExp(`COPY ${w}/package\\.json ${w}/`), w);
  });
});

describe('deploy/hub/wattfleet-hub.service', () => {
  it('starts the built bundle with plain node and reads its settings file', () => {
    const unit = readFileSync(join(HUB_DEPLOY, 'wattfleet-hub.service'), 'utf8');
    const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1] ?? '';
    assert.match(exec, /^\/usr\/bin\/node .*\/opt\/wattfleet-hub\/packages\/hub\/dist\/hub\.mjs start$/);
    assert.doesNotMatch(exec, /tsx/);
    assert.match(unit, /^EnvironmentFile=\/etc\/wattfleet\/hub\.env$/m);
    assert.match(unit, /^User=wattfleet-hub$/m);
    const install = readFileSync(join(HUB_DEPLOY, 'install.sh'), 'utf8');
    assert.match(install, /node packages\/hub\/scripts\/build\.mjs/);
    assert.match(install, /hub\.env\.example/);
  });
});
