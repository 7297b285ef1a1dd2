import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { CommandLog } from '../src/control/command-log.ts';
import { Dispatcher, type Response } from '../src/control/dispatcher.ts';
import { openTunnelHandler } from '../src/control/handlers/open-tunnel.ts';
import { TunnelManager, tunnelArgv } from '../src/ops/tunnel.ts';
import { Outbox } from '../src/outbox/outbox.ts';

// A stand-in `ssh`, first on PATH: it records its argv and stays up like a real tunnel would,
// or exits at once (as ssh does with ExitOnForwardFailure) when the remote port is 2222.
const dir = mkdtempSync(join(tmpdir(), 'wf-tunnel-'));
const bin = join(dir, 'bin');
const argvFile = join(dir, 'argv.json');
const pidFile = join(dir, 'pid');
mkdirSync(bin);
writeFileSync(
  join(bin, 'ssh'),
  `#!${process.execPath}
const fs = require('node:fs');
fs.writeFileSync(${JSON.stringify(argvFile)}, JSON.stringify(process.argv.slice(2)));
fs.writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));
if (process.argv.includes('2222:localhost:22')) { console.error('remote port forwarding failed'); process.exit(255); }
process.on('SIGTERM', () => { fs.writeFileSync(${JSON.stringify(pidFile)}, 'terminated'); process.exit(0); });
setInterval(() => {}, 1000);
`,
);
chmodSync(join(bin, 'ssh'), 0o755);
process.env.PATH = `${bin}${delimiter}${process.env.PATH}`;

const cfg = {
  host: 'support.example.org',
  user: 'tunnel',
  port: 2200,
  remotePortMin: 2000,
  remotePortMax: 2999,
};
const managers: TunnelManager[] = [];
after(async () => {
  await Promise.all(managers.map((m) => m.close()));
  rmSync(dir, { recursive: true, force: true });
});

describe('tunnel argv whitelist', () => {
  it('builds a fixed argv with only the remote port varying', () => {
    assert.deepEqual(tunnelArgv(cfg, 2500), [
      '-N',
      '-R',
      '2500:localhost:22',
      '-p',
      '2200',
      '-o',
      'BatchMode=yes',
      '-o',
      'ExitOnForwardFailure=yes',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'ServerAliveInterval=30',
      '-o',
      'ServerAliveCountMax=3',
      '--',
      'tunnel@support.example.org',
    ]);
  });

  it('refuses ports outside the range and hosts or users that could smuggle options', () => {
    assert.throws(() => tunnelArgv(cfg, 1999), RangeError);
    assert.throws(() => tunnelArgv(cfg, 3000), RangeError);
    assert.throws(() => tunnelArgv(cfg, 2500.5), RangeError);
    assert.throws(() => tunnelArgv({ ...cfg, host: '-oProxyCommand=sh' }, 2500));
    assert.throws(() => tunnelArgv({ ...cfg, host: 'a b' }, 2500));
    assert.throws(() => tunnelArgv({ ...cfg, user: 'root@evil' }, 2500));
  });
});

describe('OPEN_TUNNEL', () => {
  const outbox = Outbox.open(join(dir, 'state.db'), { maxBytes: 1 << 30 });
  after(() => outbox.close());
  const replies: Response[] = [];
  const manager = new TunnelManager(cfg, { startupGraceMs: 1500 });
  managers.push(manager);
  const dispatcher = new Dispatcher(
    new CommandLog(outbox.db),
    { OPEN_TUNNEL: openTunnelHandler(manager) },
    (r) => {
      replies.push(r);
    },
    { logger: pino({ level: 'silent' }) },
  );
  const cmd = (args: Record<string, unknown>) => ({
    id: randomUUID(),
    type: 'OPEN_TUNNEL',
    args,
    issuedAt: Date.now(),
    expiresAt: Date.now() + 60_000,
  });

  it('opens the tunnel with the stand-in ssh and closes it when asked', async () => {
    await dispatcher.handle(cmd({ remotePort: 2500, durationS: 60 }));
    const r = replies.at(-1)!;
    assert.equal(r.state, 'succeeded', JSON.stringify(r));
    assert.equal(r.data?.remotePort, 2500);
    assert.ok((r.data?.closesAt as number) <= Date.now() + 60_000);
    while (!existsSync(argvFile)) await sleep(20); // the stand-in may still be starting
    assert.ok(JSON.parse(readFileSync(argvFile, 'utf8')).includes('2500:localhost:22'));
    await dispatcher.handle(cmd({ remotePort: 2501, durationS: 60 }));
    assert.equal(replies.at(-1)?.error?.code, 'TUNNEL_FAILED', 'one tunnel at a time');
    await manager.close();
    assert.equal(readFileSync(pidFile, 'utf8'), 'terminated');
    assert.equal(manager.current, undefined);
  });

  it('closes by itself when the duration is over', async () => {
    const m = new TunnelManager(cfg, { startupGraceMs: 800 });
    managers.push(m);
    await m.open(2600, 1);
    assert.ok(m.current);
    const closesAt = m.current.closesAt;
    while (m.current && Date.now() < closesAt + 3000) await sleep(20);
    assert.equal(m.current, undefined);
    assert.ok(Date.now() >= closesAt, 'not before its time');
    assert.equal(readFileSync(pidFile, 'utf8'), 'terminated');
  });

  it('reports a port outside the configured range and an ssh that fails at once', async () => {
    await dispatcher.handle(cmd({ remotePort: 4000 }));
    assert.equal(replies.at(-1)?.error?.code, 'PORT_NOT_ALLOWED');
    await dispatcher.handle(cmd({ remotePort: 2222 }));
    assert.equal(replies.at(-1)?.error?.code, 'TUNNEL_FAILED');
    assert.match(replies.at(-1)!.error!.message, /remote port forwarding failed/);
    await dispatcher.handle(cmd({ remotePort: 2500, durationS: 3600 }));
    assert.equal(replies.at(-1)?.error?.code, 'WF_VALIDATION', 'more than 15 minutes is refused');
    assert.ok(existsSync(argvFile));
  });
});
