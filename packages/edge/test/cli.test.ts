// The CLI as an installer runs it: a child process, real files, exit codes.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'wf-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const cli = join(import.meta.dirname, '../src/cli.ts');

async function wattfleetAgent(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await exec(process.execPath, ['--import', 'tsx', cli, ...args], {
      env: { ...process.env, ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('wattfleet-agent CLI', () => {
  it('self-test passes on this checkout and fails on an invalid live config', async () => {
    assert.equal((await wattfleetAgent(['self-test'], { WATTFLEET_CONFIG: '' })).code, 0);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'version: 2\nhub: {}\n');
    const r = await wattfleetAgent(['self-test'], { WATTFLEET_CONFIG: bad });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /config \/hub/);
  });

  it('doctor lists what is wrong and exits non-zero', async () => {
    const cfg = join(dir, 'agent.yaml');
    writeFileSync(
      cfg,
      `version: 2\nhub: { url: "http://127.0.0.1:1" }\nsite: { lat: 1, lon: 2, timezone: UTC }\n` +
        `identity: { path: ${join(dir, 'identity.json')} }\noutbox: { path: ${join(dir, 'outbox.db')} }\n`,
    );
    const r = await wattfleetAgent(['doctor', '--config', cfg]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /ok {3}config/);
    assert.match(r.stdout, /FAIL identity +not enrolled/);
    assert.match(r.stdout, /ok {3}outbox +integrity ok/);
    assert.match(r.stdout, /FAIL hub/);
  });

  it('enroll reports a refused code; unknown commands print usage', async () => {
    const r = await wattfleetAgent([
      'enroll',
      '--hub',
      'http://127.0.0.1:1',
      '--code',
      'ABCDEFGH',
      '--identity',
      join(dir, 'id.json'),
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /fetch failed|ECONNREFUSED/);
    const u = await wattfleetAgent(['frobnicate']);
    assert.equal(u.code, 2);
    assert.match(u.stdout, /enroll --hub URL --code CODE/);
  });
});
