// The agent as production runs it, for tests that need a real process (SIGKILL, watchdog): the
// bundle built by scripts/build.mjs, started with the command line and Environment= lines of
// deploy/agent/wattfleet-agent.service (read from the unit file, as the B5 benchmark does).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { localAgentCommand, REPO_ROOT } from '../../../../bench/_agent-unit.ts';

const BUILD = fileURLToPath(new URL('../../scripts/build.mjs', import.meta.url));
const exec = promisify(execFile);

let built: Promise<unknown> | undefined;
/** Builds the bundle once per test process (into packages/edge/dist, where the unit expects it). */
export function buildBundle(): Promise<unknown> {
  built ??= exec(process.execPath, [BUILD], { timeout: 120_000 });
  return built;
}

/** The unit's argv and env with `--config` added; NODE_OPTIONS of the test runner left out. */
export function agentCommand(configPath: string, extraEnv: Record<string, string> = {}) {
  const unit = localAgentCommand();
  const { NODE_OPTIONS: _runner, ...inherited } = process.env;
  const [node, ...args] = unit.argv;
  const bundleAt = args.findIndex((a) => a.endsWith('.mjs'));
  if (bundleAt < 0) throw new Error(`the unit does not run a bundle: ${unit.argv.join(' ')}`);
  return {
    node: node!,
    args: [...args, '--config', configPath],
    /** Node flags and the bundle, without the subcommand. */
    bundleArgs: args.slice(0, bundleAt + 1),
    env: { ...inherited, ...unit.env, WATTFLEET_CONFIG: configPath, ...extraEnv },
  };
}

/** Runs one CLI subcommand of the bundle (enroll, self-test, …) to completion. */
export async function bundleCli(configPath: string, args: string[]) {
  const cmd = agentCommand(configPath);
  return exec(cmd.node, [...cmd.bundleArgs, ...args, '--config', configPath], {
    env: cmd.env,
    cwd: REPO_ROOT,
    timeout: 60_000,
  });
}

/** Starts `agent.mjs run`; stdout and stderr are appended to `logPath`. */
export function startAgent(configPath: string, logPath: string, extraEnv: Record<string, string> = {}) {
  const cmd = agentCommand(configPath, extraEnv);
  const log = openSync(logPath, 'a');
  return spawn(cmd.node, cmd.args, { env: cmd.env, cwd: REPO_ROOT, stdio: ['ignore', log, log] });
}

/** SIGKILL (or another signal) and wait until the process is really gone. */
export async function killAgent(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}
