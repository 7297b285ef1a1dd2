import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { CommandLog } from '../src/control/command-log.ts';
import { Dispatcher, type Response } from '../src/control/dispatcher.ts';
import { selfUpdateHandler, selfUpdateResumer } from '../src/control/handlers/self-update.ts';
import { run, tail } from '../src/ops/exec.ts';
import { StandInSupervisor } from '../src/ops/supervisor.ts';
import { Updater } from '../src/ops/updater.ts';
import { Outbox } from '../src/outbox/outbox.ts';

const dir = mkdtempSync(join(tmpdir(), 'wf-update-'));
const work = join(dir, 'work');
const bare = join(dir, 'agent.git');
const releasesDir = join(dir, 'opt');
after(() => rmSync(dir, { recursive: true, force: true }));

async function git(args: string[], cwd = work) {
  const r = await run('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.org', ...args], { cwd });
  assert.equal(r.code, 0, r.stderr);
}

const lock = (v: string) =>
  JSON.stringify({
    name: 'agent',
    version: v,
    lockfileVersion: 3,
    requires: true,
    packages: { '': { name: 'agent', version: v } },
  });

/** One tag of the fake agent repository: its build, self-test and health check pass or fail on purpose. */
async function release(
  tag: string,
  o: { lockVersion: string; selfTest: boolean; healthy: boolean; builds?: boolean },
) {
  writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'agent', version: o.lockVersion }));
  writeFileSync(join(work, 'package-lock.json'), lock(o.lockVersion));
  // Like packages/edge/scripts/build.mjs: writes the bundle the service runs into the release.
  writeFileSync(
    join(work, 'build.mjs'),
    o.builds === false
      ? 'console.error("Could not resolve \\"typebox\\""); process.exit(1)'
      : 'import { mkdirSync, writeFileSync } from "node:fs"; mkdirSync("dist", { recursive: true }); ' +
          'writeFileSync("dist/agent.mjs", "// bundle of ' +
          tag +
          '\\n");',
  );
  // Like `agent.mjs self-test`: it runs after the build, so it can check the bundle exists.
  writeFileSync(
    join(work, 'selftest.mjs'),
    o.selfTest
      ? 'import { existsSync } from "node:fs"; if (!existsSync("dist/agent.mjs")) { console.error("no bundle"); process.exit(4); } console.log("self-test ok")'
      : 'console.error("self-test: config loader broken"); process.exit(3)',
  );
  writeFileSync(
    join(work, 'health.mjs'),
    o.healthy
      ? 'console.log("healthy")'
      : 'console.error("outbox cannot open: schema too new"); process.exit(1)',
  );
  await git(['add', '-A']);
  await git(['commit', '-q', '-m', tag]);
  await git(['tag', tag]);
}

before(async () => {
  mkdirSync(work);
  await git(['init', '-q', '-b', 'main']);
  await release('v1.0.0', { lockVersion: '1.0.0', selfTest: true, healthy: true });
  await release('v1.1.0', { lockVersion: '1.0.0', selfTest: false, healthy: true });
  await release('v1.1.5', { lockVersion: '1.0.0', selfTest: true, healthy: true, builds: false });
  await release('v1.2.0', { lockVersion: '1.0.0', selfTest: true, healthy: true });
  await release('v1.3.0', { lockVersion: '1.3.0', selfTest: true, healthy: false });
  await run('git', ['clone', '-q', '--bare', work, bare]);
});

describe('SELF_UPDATE against a local bare repository', () => {
  const logger = pino({ level: 'silent' });
  const replies: Response[] = [];
  const supervisor = new StandInSupervisor();
  const statePath = join(dir, 'state.db');
  const makeUpdater = () =>
    new Updater({
      releasesDir,
      repo: `file://${bare}`,
      supervisor,
      build: [process.execPath, 'build.mjs'],
      selfTest: [process.execPath, 'selftest.mjs'],
      // The real check the restarted agent makes: does the live release say it is healthy?
      healthCheck: async () => {
        const r = await run(process.execPath, ['health.mjs'], { cwd: join(releasesDir, 'current') });
        return { ok: r.code === 0, detail: tail(r.code === 0 ? r.stdout : r.stderr, 3) };
      },
      logger,
    });
  const outbox = Outbox.open(statePath, { maxBytes: 1 << 30 });
  after(() => outbox.close());
  const updater = makeUpdater();
  const dispatcher = new Dispatcher(
    new CommandLog(outbox.db),
    { SELF_UPDATE: selfUpdateHandler(() => updater) },
    (r) => {
      replies.push(r);
    },
    { logger },
  );
  // The stand-in supervisor plays the part of systemd: a restart starts a "new process" that
  // opens the same state and finishes the command it finds unfinished.
  supervisor.onRestart = async () => {
    const next = Outbox.open(statePath, { maxBytes: 1 << 30 });
    try {
      const d = new Dispatcher(new CommandLog(next.db), {}, (r) => void replies.push(r), { logger });
      await d.resumeInterrupted({ SELF_UPDATE: selfUpdateResumer(makeUpdater()) });
    } finally {
      next.close();
    }
  };
  const update = async (tag: string) => {
    const id = randomUUID();
    await dispatcher.handle({
      id,
      type: 'SELF_UPDATE',
      args: { tag },
      issuedAt: Date.now(),
      expiresAt: Date.now() + 600_000,
    });
    const final = replies.filter((r) => r.id === id && (r.state === 'succeeded' || r.state === 'failed'));
    assert.equal(
      final.length,
      1,
      `exactly one verdict for ${tag}: ${JSON.stringify(replies.filter((r) => r.id === id))}`,
    );
    return final[0]!;
  };
  const current = () => realpathSync(join(releasesDir, 'current'));

  it('installs a good tag: clone, npm ci (first install), build, self-test, atomic swap, restart, health', async () => {
    const r = await update('v1.0.0');
    assert.equal(r.state, 'succeeded', JSON.stringify(r));
    assert.equal(r.data?.tag, 'v1.0.0');
    assert.equal(r.data?.npmCi, true);
    assert.equal(current(), realpathSync(join(releasesDir, 'releases', 'v1.0.0')));
    assert.equal(readFileSync(join(current(), 'dist', 'agent.mjs'), 'utf8'), '// bundle of v1.0.0\n');
    assert.ok(lstatSync(join(releasesDir, 'current')).isSymbolicLink());
    assert.equal(supervisor.restarts.length, 1);
  });

  it('refuses a tag whose self-test fails, before touching the live release', async () => {
    const r = await update('v1.1.0');
    assert.equal(r.error?.code, 'SELF_TEST_FAILED');
    assert.match(r.error!.message, /config loader broken/);
    assert.equal(current(), realpathSync(join(releasesDir, 'releases', 'v1.0.0')));
    assert.equal(existsSync(join(releasesDir, 'releases', 'v1.1.0')), false, 'failed checkout removed');
    assert.equal(supervisor.restarts.length, 1, 'no restart');
  });

  it('refuses a tag whose bundle does not build, before touching the live release', async () => {
    const r = await update('v1.1.5');
    assert.equal(r.error?.code, 'BUILD_FAILED', JSON.stringify(r));
    assert.match(r.error!.message, /Could not resolve "typebox"/);
    assert.equal(current(), realpathSync(join(releasesDir, 'releases', 'v1.0.0')));
    assert.equal(existsSync(join(releasesDir, 'releases', 'v1.1.5')), false, 'failed checkout removed');
    assert.equal(supervisor.restarts.length, 1, 'no restart');
  });

  it('skips npm ci when the lockfile did not change', async () => {
    const r = await update('v1.2.0');
    assert.equal(r.state, 'succeeded', JSON.stringify(r));
    assert.equal(r.data?.npmCi, false);
    assert.equal(
      readlinkSync(join(releasesDir, 'previous')),
      realpathSync(join(releasesDir, 'releases', 'v1.0.0')),
    );
  });

  it('rolls back automatically when the new release is unhealthy after the restart, and reports why', async () => {
    const r = await update('v1.3.0');
    assert.equal(r.state, 'failed');
    assert.equal(r.error?.code, 'ROLLED_BACK');
    assert.match(r.error!.message, /schema too new/);
    assert.equal(r.data?.tag, 'v1.3.0');
    // Give the rollback restart (scheduled after the reply) a moment.
    await new Promise((res) => setTimeout(res, 50));
    assert.equal(current(), realpathSync(join(releasesDir, 'releases', 'v1.2.0')));
    assert.deepEqual(supervisor.restarts.slice(-2), ['self-update to v1.3.0', 'rollback from v1.3.0']);
  });

  it('refuses an unknown tag and the release already running', async () => {
    assert.equal((await update('v9.9.9')).error?.code, 'FETCH_FAILED');
    assert.equal((await update('v1.2.0')).error?.code, 'ALREADY_CURRENT');
    assert.equal((await update('--upload-pack=evil')).error?.code, 'WF_VALIDATION');
  });
});
