import type { Health } from '../lib/status.ts';

const LABEL: Record<Health, string> = { ok: 'OK', warning: 'Warning', error: 'Error' };

export function StatusBadge({ health, title }: { health: Health; title?: string }) {
  return (
    <span className={`badge badge-${health}`} data-testid="status-badge" title={title}>
      {LABEL[health]}
    </span>
  );
}
