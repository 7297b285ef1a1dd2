// deploy/agent as far as it can be checked without systemd (which cannot run here): the install
// script parses, both units run the bundle the build script produces with flags node accepts, the
// rollback unit's command really swaps the release back, and the watchdog path (READY=1, then
// WATCHDOG=1 only while the poll loop lives) is exercised against a stand-in NOTIFY_SOCKET.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { localAgentCommand, parseUnit, REPO_ROOT } from '../../../bench/_agent-unit.ts';
import { Watchdog } from '../src/ops/watchdog.ts';
import { buildBundle, killAgent, startAgent } from './helpers/agent-process.ts';
import { startNotifySocket } from './helpers/notify-socket.ts';

const exec = promisify(execFile);
const DEPLOY = fileURLToPath(new URL('../../../deploy/agent/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'wf-deploy-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function until<T>(what: string, get: () => T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = get();
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

describe('deploy/agent', () => {
  it('install.sh parses (bash -n) and nothing deployed runs TypeScript through a loader', async () => {
    await exec('bash', ['-n', join(DEPLOY, 'install.sh')]);
    for (const f of ['install.sh', 'wattfleet-agent.service', 'wattfleet-agent-rollback.service']) {
      assert.doesNotMatch(readFileSync(join(DEPLOY, f), 'utf8'), /--import tsx|src\/cli\.ts/, f);
    }
  });

  it('the unit restarts always, is watched, and runs the bundle; node accepts its flags silently', async () => {
    const unit = readFileSync(join(DEPLOY, 'wattfleet-agent.service'), 'utf8');
    for (const line of [
      'Type=notify',
      'NotifyAccess=all',
      'Restart=always',
      'OnFailure=wattfleet-agent-rollback.service',
    ])
      assert.match(unit, new RegExp(`^${line}$`, 'm'));
    assert.match(unit, /^WatchdogSec=\d+$/m);
    await buildBundle();
    const cmd = localAgentCommand();
    const bundle = cmd.argv.find((a) => a.endsWith('.mjs'))!;
    assert.equal(bundle, join(REPO_ROOT, 'packages/edge/dist/agent.mjs'));
    assert.ok(existsSync(bundle), 'build.mjs wrote what the unit runs');
    // The self-test SELF_UPDATE and install.sh run, under the unit's own flags and environment.
    const [node, ...args] = cmd.argv;
    const r = await exec(node!, [...args.slice(0, args.indexOf(bundle) + 1), 'self-test'], {
      env: { ...process.env, ...cmd.env, WATTFLEET_CONFIG: '' },
      cwd: REPO_ROOT,
    });
    assert.equal(r.stdout.trim(), 'self-test ok');
    assert.equal(r.stderr, '', 'no warning from node about the flags');
  });

  it('serial adapters are reachable: the agent joins dialout and the unit keeps /dev', () => {
    const install = readFileSync(join(DEPLOY, 'install.sh'), 'utf8');
    assert.match(
      install,
      /for g in [^;]*\bdialout\b[^;]*; do getent group "\$g" .* usermod -aG "\$g" wattfleet/,
    );
    const unit = readFileSync(join(DEPLOY, 'wattfleet-agent.service'), 'utf8');
    // PrivateDevices=, DevicePolicy=closed or a DeviceAllow= list would hide /dev/ttyUSB0 from a
    // modbus-rtu source; the unit may harden everything else.
    assert.doesNotMatch(unit, /^(PrivateDevices=(yes|true)|DevicePolicy=(closed|strict)|DeviceAllow=)/m);
    assert.doesNotMatch(unit, /^SupplementaryGroups=/m, 'groups come from the user (install.sh)');
  });

  it('the rollback unit points `current` back at `previous`', async () => {
    const unit = parseUnit(readFileSync(join(DEPLOY, 'wattfleet-agent-rollback.service'), 'utf8'));
    const releases = join(dir, 'opt');
    mkdirSync(join(releases, 'releases', 'v1'), { recursive: true });
    mkdirSync(join(releases, 'releases', 'v2'), { recursive: true });
    symlinkSync(join(releases, 'releases', 'v2'), join(releases, 'current'));
    symlinkSync(join(releases, 'releases', 'v1'), join(releases, 'previous'));
    // /opt/wattfleet/previous/… is this checkout; /opt/wattfleet is the temp layout.
    const argv = unit.argv.map((a) =>
      a.startsWith('/opt/wattfleet/previous/')
        ? a.replace('/opt/wattfleet/previous', REPO_ROOT.replace(/\/$/, ''))
        : a === '/opt/wattfleet'
          ? releases
          : a,
    );
    assert.ok(argv.includes('rollback') && argv.includes(releases), argv.join(' '));
    await buildBundle();
    await exec(process.execPath, argv.slice(1), { cwd: REPO_ROOT });
    assert.equal(readlinkSync(join(releases, 'current')), join(releases, 'releases', 'v1'));
  });
});

describe('systemd watchdog against a stand-in NOTIFY_SOCKET', () => {
  it('the running agent (bundle) says READY=1, then WATCHDOG=1 every WatchdogSec/3', async () => {
    await buildBundle();
    const notify = await startNotifySocket(dir);
    const configPath = join(dir, 'agent.yaml');
    writeFileSync(
      configPath,
      `version: 2
hub: { url: "http://127.0.0.1:9" }
identity: { path: ${join(dir, 'identity.json')} }
site: { lat: 52.5, lon: 13.4, timezone: Europe/Berlin }
sources:
  - { type: simulator, key: sim, seed: watchdog }
poll: { intervalS: 0.5 }
outbox: { path: ${join(dir, 'watchdog.db')} }
dashboard: { port: 0, host: 127.0.0.1 }
`,
    );
    // WATCHDOG_USEC as systemd sets it for WatchdogSec=3: a keepalive every second.
    const agent = startAgent(configPath, join(dir, 'agent.out'), {
      NOTIFY_SOCKET: notify.path,
      WATCHDOG_USEC: '3000000',
    });
    try {
      await until(
        'READY=1 and two keepalives',
        () => notify.messages.filter((m) => m === 'WATCHDOG=1').length >= 2,
      );
      assert.equal(notify.messages[0], 'READY=1', JSON.stringify(notify.messages));
      assert.equal(notify.messages.filter((m) => m === 'READY=1').length, 1);
    } finally {
      await killAgent(agent, 'SIGTERM');
      await notify.close();
    }
  });

  it('withholds keepalives while the main loop is stuck, so systemd restarts the agent', async () => {
    const notify = await startNotifySocket(mkdtempSync(join(dir, 'wd-')));
    const saved = { socket: process.env.NOTIFY_SOCKET, usec: process.env.WATCHDOG_USEC };
    process.env.NOTIFY_SOCKET = notify.path;
    process.env.WATCHDOG_USEC = '3000000';
    let alive = true;
    let deadTicks = 0;
    const watchdog = new Watchdog(() => {
      if (!alive) deadTicks++;
      return alive;
    });
    try {
      await watchdog.start();
      await until('keepalives', () => notify.messages.filter((m) => m === 'WATCHDOG=1').length >= 2);
      alive = false;
      // Ticks are counted, not waited for: after the second dead tick any keepalive sent before the
      // loop got stuck has long arrived (systemd-notify returns only once it was read).
      await until('two dead ticks', () => deadTicks >= 2);
      const before = notify.messages.length;
      await until('a third dead tick', () => deadTicks >= 3);
      assert.equal(notify.messages.length, before, 'no keepalive from a stuck agent');
      alive = true;
      await until('keepalives again once it recovers', () => notify.messages.length > before);
    } finally {
      watchdog.stop();
      process.env.NOTIFY_SOCKET = saved.socket;
      process.env.WATCHDOG_USEC = saved.usec;
      if (saved.socket === undefined) delete process.env.NOTIFY_SOCKET;
      if (saved.usec === undefined) delete process.env.WATCHDOG_USEC;
      await notify.close();
    }
  });
});
