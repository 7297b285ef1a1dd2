// Alert rules for vendor accounts, in the alert engine's catalogue (alerts/alert-rules.ts): the
// engine brings duration, repeat, mutes, notifications and one-open-per-target; these rules only
// read the accounts' health that the poller keeps.
import type { Observation, RuleDefinition } from '../alerts/alert-rules.ts';
import { accountsForAlerts } from './vendors.repository.ts';

type Account = Awaited<ReturnType<typeof accountsForAlerts>>[number];

const obs = (a: Account, firing: boolean, message: string, value: number | null = null): Observation => ({
  targetType: 'node',
  targetId: a.node_id,
  nodeId: a.node_id,
  firing,
  clearing: !firing,
  value,
  message,
});

export const VENDOR_RULES: RuleDefinition[] = [
  {
    name: 'vendor_account_failing',
    description: 'A vendor cloud account has failed every poll for a while',
    defaults: { enabled: true, severity: 'warning', durationS: 0, repeatS: 0, params: { afterS: 900 } },
    async evaluate(ctx) {
      const afterMs = (ctx.params.afterS ?? 900) * 1000;
      return (await accountsForAlerts(ctx.db, ctx.site.id)).map((a) => {
        const since = a.failing_since ? new Date(a.failing_since).getTime() : null;
        const firing = a.status === 'active' && since !== null && ctx.now - since >= afterMs;
        const minutes = since === null ? 0 : Math.round((ctx.now - since) / 60_000);
        return obs(
          a,
          firing,
          firing
            ? `Vendor account failing: "${a.name}" has not answered for ${minutes} min (${a.last_error ?? 'no detail'})`
            : `Vendor account "${a.name}" is answering again`,
          since === null ? null : minutes,
        );
      });
    },
  },
  {
    name: 'vendor_credentials_rejected',
    description: 'A vendor cloud rejected the stored credentials or the authorisation was revoked',
    defaults: { enabled: true, severity: 'critical', durationS: 0, repeatS: 0, params: {} },
    async evaluate(ctx) {
      return (await accountsForAlerts(ctx.db, ctx.site.id)).map((a) => {
        const firing = a.status === 'credentials_rejected' || a.status === 'reauthorise';
        const message =
          a.status === 'reauthorise'
            ? `Re-authorise "${a.name}": the vendor revoked or expired the authorisation (${a.status_message ?? ''})`
            : `Credentials rejected for "${a.name}": enter the current password (${a.status_message ?? ''})`;
        return obs(a, firing, firing ? message : `Credentials of "${a.name}" accepted`);
      });
    },
  },
  {
    name: 'vendor_sign_inverted',
    description: 'A vendor account reports power with the opposite sign to its energy counters',
    defaults: { enabled: true, severity: 'warning', durationS: 0, repeatS: 0, params: {} },
    async evaluate(ctx) {
      return (await accountsForAlerts(ctx.db, ctx.site.id)).map((a) => {
        const notices = Object.values(a.notices) as { message?: string }[];
        const firing = a.status !== 'removed' && notices.length > 0;
        return obs(
          a,
          firing,
          firing ? notices.map((n) => n.message).join('; ') : `Signs of "${a.name}" agree with its counters`,
        );
      });
    },
  },
];
