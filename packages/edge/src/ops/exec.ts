// The only way the agent runs programs: a fixed executable and an argv array, never a shell, so
// no argument can ever be read as shell syntax.
import { execFile } from 'node:child_process';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(
  file: string,
  args: readonly string[],
  opts: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        cwd: opts.cwd,
        timeout: opts.timeoutMs ?? 120_000,
        env: opts.env ?? process.env,
        maxBuffer: 16 * 1024 * 1024,
        shell: false,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({
          code,
          stdout: String(stdout),
          stderr: String(stderr) || (err && code !== 0 ? err.message : ''),
        });
      },
    );
  });
}

/** Last lines of a program's output, for an error message that fits in a reply. */
export function tail(text: string, lines = 20): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}
