// A fake agent repository with tags whose build, self-test and health check pass or fail on
// purpose, cloned bare for the Updater to fetch from. The same construction as
// self-update.test.ts (which keeps its own copy); used by the rollout end-to-end test.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../src/ops/exec.ts';

export interface ReleaseSpec {
  version: string;
  healthy: boolean;
}

const lock = (v: string) =>
  JSON.stringify({
    name: 'agent',
    version: v,
    lockfileVersion: 3,
    requires: true,
    packages: { '': { name: 'agent', version: v } },
  });

/** Builds `work` with one commit and tag per release, then `bare` as its bare clone. */
export async function makeAgentRepo(work: string, bare: string, releases: Record<string, ReleaseSpec>) {
  const git = async (args: string[]) => {
    const r = await run('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.org', ...args], {
      cwd: work,
    });
    assert.equal(r.code, 0, r.stderr);
  };
  mkdirSync(work, { recursive: true });
  await git(['init', '-q', '-b', 'main']);
  for (const [tag, o] of Object.entries(releases)) {
    writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'agent', version: o.version }));
    writeFileSync(join(work, 'package-lock.json'), lock(o.version));
    writeFileSync(
      join(work, 'build.mjs'),
      `import { mkdirSync, writeFileSync } from "node:fs"; mkdirSync("dist", { recursive: true }); writeFileSync("dist/agent.mjs", "// bundle of ${tag}\\n");`,
    );
    writeFileSync(
      join(work, 'selftest.mjs'),
      'import { existsSync } from "node:fs"; if (!existsSync("dist/agent.mjs")) { console.error("no bundle"); process.exit(4); } console.log("self-test ok")',
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
  const r = await run('git', ['clone', '-q', '--bare', work, bare]);
  assert.equal(r.code, 0, r.stderr);
}
