// AUTOMATION_PUSH (issue 13.7), with CONFIG_PUSH's discipline: check the whole bundle (every
// problem at once; nothing is written for a bad one) → keep the current bundle as
// automation.json.bak → write → load → health check → on failure put the previous bundle back,
// load it again and say why. A bundle older than the one running is refused (a late delivery
// must not undo a newer one); the same version again is answered as applied (a redelivery).
import type { AutomationBundle, AutomationPushResult, Problem } from '@wattfleet/protocol';
import type { BundleStore } from '../../automation/bundle.ts';
import type { Handler } from '../dispatcher.ts';
import { CommandError } from '../errors.ts';

export interface AutomationTarget {
  store: () => BundleStore;
  nodeId: () => string;
  current: () => AutomationBundle | undefined;
  problems: (bundle: unknown) => Problem[];
  /** Makes the runner use this bundle (undefined: none). */
  load: (bundle: AutomationBundle | undefined) => void;
  /** After load: can the node run it (each target channel answers)? */
  healthCheck: (bundle: AutomationBundle, timeoutMs: number) => Promise<{ ok: boolean; detail: string }>;
  applied?: (bundle: AutomationBundle, detail: string) => void;
  rolledBack?: (bundle: AutomationBundle, detail: string) => void;
}

const summary = (b: AutomationBundle, health: string): AutomationPushResult => ({
  version: b.version,
  schedules: b.schedules.length,
  rules: b.rules.length,
  health: health.slice(0, 1000),
});

export function automationPushHandler(t: AutomationTarget): Handler<'AUTOMATION_PUSH'> {
  return async (args) => {
    const bundle = args.bundle;
    const problems = t.problems(bundle);
    if (problems.length > 0)
      throw new CommandError(
        'WF_VALIDATION',
        `bundle v${bundle.version} refused, the previous one stays: ${problems.map((p) => `${p.path || '/'} ${p.message}`).join('; ')}`.slice(
          0,
          2000,
        ),
        { problems },
      );
    const current = t.current();
    if (current && bundle.version < current.version)
      throw new CommandError(
        'STALE_BUNDLE',
        `bundle v${bundle.version} is older than the running v${current.version}; kept v${current.version}`,
      );
    if (current && bundle.version === current.version) return { ...summary(current, 'already running') };
    const store = t.store();
    store.replace(bundle);
    let failure: string;
    try {
      t.load(bundle);
      const health = await t.healthCheck(bundle, (args.healthTimeoutS ?? 10) * 1000);
      if (health.ok) {
        try {
          t.applied?.(bundle, health.detail);
        } catch {}
        return { ...summary(bundle, health.detail) };
      }
      failure = `health check failed: ${health.detail}`;
    } catch (err) {
      failure = `load failed: ${(err as Error).message}`;
    }
    // The file first (a crash now restarts on the previous bundle), then the runner.
    const previous = store.restore();
    t.load(previous);
    const rollback = previous
      ? `restored automation.json.bak (v${previous.version})`
      : 'no previous bundle: none runs';
    t.rolledBack?.(bundle, `${failure}; ${rollback}`);
    throw new CommandError('ROLLED_BACK', `${failure}; ${rollback}`, {
      rolledBack: true,
      ...(previous ? { version: previous.version } : {}),
    });
  };
}
