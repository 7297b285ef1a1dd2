// CONFIG_PUSH: validate → back up config.yaml to config.yaml.bak → write → apply → health check →
// on failure restore the backup, apply it again, and say why. A bad push never strands a node.
import { copyFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { type AgentConfig, type ConfigResult, parseConfigText } from '@wattfleet/devices/config';
import type { Handler } from '../dispatcher.ts';
import { CommandError } from '../errors.ts';

export interface ConfigTarget {
  path: string;
  /** Makes the running agent use this config (rebuild sources, uplink, …). */
  apply(config: AgentConfig): Promise<void>;
  /** After apply: is the agent working with it? */
  healthCheck(config: AgentConfig, timeoutMs: number): Promise<{ ok: boolean; detail: string }>;
  parse?: (text: string) => ConfigResult;
  /** After a healthy apply (a config.applied event: it clears an earlier rollback's alert). */
  applied?: (detail: string) => void;
  /** After a rollback (the hub hears of it as a config.rolled_back event, not only as a reply). */
  rolledBack?: (detail: string) => void;
}

export function configPushHandler(target: ConfigTarget): Handler<'CONFIG_PUSH'> {
  return async (args) => {
    const parse = target.parse ?? parseConfigText;
    const next = parse(args.config);
    if (!next.ok) {
      throw new CommandError(
        'WF_VALIDATION',
        `config refused: ${next.problems.map((p) => `${p.path || '/'} ${p.message}`).join('; ')}`,
        { problems: next.problems },
      );
    }
    const backup = `${target.path}.bak`;
    const previous = existsSync(target.path) ? parse(readText(target.path)) : undefined;
    if (existsSync(target.path)) copyFileSync(target.path, backup);
    writeAtomic(target.path, args.config);
    let failure: string;
    try {
      await target.apply(next.config);
      const health = await target.healthCheck(next.config, (args.healthTimeoutS ?? 30) * 1000);
      if (health.ok) {
        // The callback only records an event: its failure must not turn a healthy config into a
        // rollback (the reply still says applied).
        try {
          target.applied?.(health.detail);
        } catch {}
        return { applied: true, migrations: next.migrations, health: health.detail };
      }
      failure = `health check failed: ${health.detail}`;
    } catch (err) {
      failure = `apply failed: ${(err as Error).message}`;
    }
    // Roll back: the file first (so a crash now still restarts on the old config), then the runtime.
    if (existsSync(backup)) renameSync(backup, target.path);
    let rollback = 'restored config.yaml.bak';
    if (previous?.ok) {
      try {
        await target.apply(previous.config);
        rollback += ' and re-applied it';
      } catch (err) {
        rollback += `, but re-applying it failed: ${(err as Error).message}`;
      }
    }
    target.rolledBack?.(`${failure}; ${rollback}`);
    throw new CommandError('ROLLED_BACK', `${failure}; ${rollback}`, { rolledBack: true });
  };
}

function readText(path: string): string {
  return readFileSync(path, 'utf8');
}

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o640 });
  renameSync(tmp, path);
}
