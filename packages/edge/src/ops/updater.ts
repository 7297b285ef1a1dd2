// SELF_UPDATE: fetch a tag into its own release directory, install, build, self-test, then swap the
// `current` symlink atomically and restart. The new process checks its own health on start
// (resume) and swaps back when unhealthy. Layout under `releasesDir`:
//   releases/<tag>/   one checkout per tag      current → releases/<tag>   previous → releases/<old>
//   update-state.json what a restarted process needs to finish or roll back the update
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { CommandError } from '../control/errors.ts';
import { run, tail } from './exec.ts';
import type { Supervisor } from './supervisor.ts';

export interface UpdaterOptions {
  releasesDir: string;
  /** Git URL or path of the agent's repository. */
  repo: string;
  supervisor: Supervisor;
  /**
   * Run inside the new release after its dependencies are in place: builds what systemd runs (the
   * agent bundle, packages/edge/dist/agent.mjs). Non-zero exit = do not install.
   */
  build: readonly string[];
  /** Run inside the new release after the build, before it goes live; non-zero exit = do not install. */
  selfTest: readonly string[];
  /** Run by the restarted process: is the release now live healthy? */
  healthCheck: () => Promise<{ ok: boolean; detail: string }>;
  npm?: string;
  git?: string;
  logger?: Logger;
}

interface UpdateState {
  commandId: string;
  tag: string;
  target: string;
  previous: string | null;
  phase: 'restarting';
  npmCi: boolean;
  startedAt: number;
}

const TAG_RE = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$/;

export class Updater {
  readonly currentLink: string;
  readonly previousLink: string;
  private readonly stateFile: string;

  constructor(private readonly opts: UpdaterOptions) {
    this.currentLink = join(opts.releasesDir, 'current');
    this.previousLink = join(opts.releasesDir, 'previous');
    this.stateFile = join(opts.releasesDir, 'update-state.json');
  }

  currentRelease(): string | null {
    try {
      return realpathSync(this.currentLink);
    } catch {
      return null;
    }
  }

  /** Everything up to the restart. In production the process ends inside supervisor.restart(). */
  async update(commandId: string, tag: string): Promise<void> {
    if (!TAG_RE.test(tag) || tag.includes('..')) throw new CommandError('WF_VALIDATION', `bad tag ${tag}`);
    const releases = join(this.opts.releasesDir, 'releases');
    mkdirSync(releases, { recursive: true });
    const target = join(releases, tag.replaceAll('/', '_'));
    const current = this.currentRelease();
    if (current && resolve(current) === resolve(target))
      throw new CommandError('ALREADY_CURRENT', `${tag} is already running`);
    rmSync(target, { recursive: true, force: true }); // a leftover of an earlier failed attempt

    const git = this.opts.git ?? 'git';
    const clone = await run(
      git,
      ['clone', '--quiet', '--branch', tag, '--depth', '1', '--', this.opts.repo, target],
      {
        timeoutMs: 10 * 60_000,
      },
    );
    if (clone.code !== 0) {
      rmSync(target, { recursive: true, force: true });
      throw new CommandError('FETCH_FAILED', `git clone of ${tag} failed: ${tail(clone.stderr, 5)}`);
    }

    // npm ci only when the lockfile changed: on a Pi it takes minutes and needs the network.
    const npmCi = !current || lockDigest(current) !== lockDigest(target);
    if (npmCi) {
      const ci = await run(this.opts.npm ?? 'npm', ['ci', '--no-audit', '--no-fund'], {
        cwd: target,
        timeoutMs: 20 * 60_000,
      });
      if (ci.code !== 0) {
        rmSync(target, { recursive: true, force: true });
        throw new CommandError('INSTALL_FAILED', `npm ci failed: ${tail(ci.stderr, 10)}`);
      }
    } else if (current && existsSync(join(current, 'node_modules'))) {
      // Same lockfile: share the installed modules of the release they were installed into.
      symlinkSync(realpathSync(join(current, 'node_modules')), join(target, 'node_modules'));
    }

    // The bundle is built here, on the node itself, from the release's own sources and modules:
    // what the self-test below checks is then exactly what the restarted service will run.
    const [buildCmd, ...buildArgs] = this.opts.build;
    const built = await run(buildCmd!, buildArgs, { cwd: target, timeoutMs: 10 * 60_000 });
    if (built.code !== 0) {
      rmSync(target, { recursive: true, force: true });
      throw new CommandError(
        'BUILD_FAILED',
        `build of ${tag} failed (exit ${built.code}): ${tail(built.stderr || built.stdout, 10)}`,
        { tag, npmCi },
      );
    }

    const [cmd, ...args] = this.opts.selfTest;
    const test = await run(cmd!, args, { cwd: target, timeoutMs: 5 * 60_000 });
    if (test.code !== 0) {
      rmSync(target, { recursive: true, force: true });
      throw new CommandError(
        'SELF_TEST_FAILED',
        `self-test of ${tag} failed (exit ${test.code}): ${tail(test.stderr || test.stdout, 10)}`,
        {
          tag,
          npmCi,
        },
      );
    }

    const state: UpdateState = {
      commandId,
      tag,
      target,
      previous: current,
      phase: 'restarting',
      npmCi,
      startedAt: Date.now(),
    };
    writeJsonAtomic(this.stateFile, state);
    if (current) swapLink(this.previousLink, current);
    swapLink(this.currentLink, target);
    this.opts.logger?.info({ tag, target, previous: current }, 'release swapped; restarting');
    await this.opts.supervisor.restart(`self-update to ${tag}`);
  }

  /**
   * Called by a freshly started agent. Returns the outcome of an update this process is the result
   * of: success data, or a CommandError after swapping back to the previous release and restarting.
   */
  async resume(commandId?: string): Promise<Record<string, unknown> | undefined> {
    const state = this.readState();
    if (!state || (commandId && state.commandId !== commandId)) return undefined;
    const health = await this.opts.healthCheck().catch((err: Error) => ({ ok: false, detail: err.message }));
    rmSync(this.stateFile, { force: true });
    if (health.ok) {
      return { tag: state.tag, release: state.target, npmCi: state.npmCi, health: health.detail };
    }
    if (!state.previous) {
      throw new CommandError(
        'UNHEALTHY',
        `${state.tag} is unhealthy (${health.detail}) and there is no release to roll back to`,
      );
    }
    swapLink(this.currentLink, state.previous);
    this.opts.logger?.error({ tag: state.tag, detail: health.detail }, 'new release unhealthy; rolled back');
    // Restart into the previous release after the failure is reported (the caller replies first).
    setImmediate(() => void this.opts.supervisor.restart(`rollback from ${state.tag}`).catch(() => {}));
    throw new CommandError(
      'ROLLED_BACK',
      `${state.tag} was unhealthy (${health.detail}); rolled back to ${state.previous}`,
      {
        tag: state.tag,
        rolledBackTo: state.previous,
      },
    );
  }

  pendingCommandId(): string | undefined {
    return this.readState()?.commandId;
  }

  /** The update a restarted process is finishing: from which release to which tag. */
  pendingUpdate(): { from: string; to: string } | undefined {
    const state = this.readState();
    if (!state) return undefined;
    return { from: state.previous ? basename(state.previous) : 'none', to: state.tag };
  }

  private readState(): UpdateState | undefined {
    try {
      return JSON.parse(readFileSync(this.stateFile, 'utf8')) as UpdateState;
    } catch {
      return undefined;
    }
  }
}

/** Emergency rollback (systemd OnFailure): `current` ← `previous`. Returns an exit code. */
export function rollback(releasesDir: string): number {
  const previous = readLink(join(releasesDir, 'previous'));
  if (!previous || !existsSync(previous)) {
    process.stderr.write(`no previous release under ${releasesDir}\n`);
    return 1;
  }
  swapLink(join(releasesDir, 'current'), previous);
  // Leave update-state.json: the agent's resume() then reports the update as failed.
  process.stdout.write(`current → ${previous}\n`);
  return 0;
}

function lockDigest(dir: string): string | null {
  try {
    return createHash('sha256')
      .update(readFileSync(join(dir, 'package-lock.json')))
      .digest('hex');
  } catch {
    return null;
  }
}

/** Atomic: a new symlink under a temporary name, renamed over the old one (rename(2) is atomic). */
export function swapLink(link: string, target: string): void {
  const tmp = `${link}.tmp-${process.pid}-${Date.now()}`;
  symlinkSync(target, tmp);
  renameSync(tmp, link);
}

export function readLink(link: string): string | null {
  try {
    return readlinkSync(link);
  } catch {
    return null;
  }
}

function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(value, null, 2));
  renameSync(tmp, path);
}
