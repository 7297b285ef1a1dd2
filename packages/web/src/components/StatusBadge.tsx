import { type FleetHealth, HEALTH_LABEL } from '../lib/status.ts';

/** The hub's health word for a site; while it is still loading, a neutral "Checking…". */
export function StatusBadge({ health, title }: { health: FleetHealth | undefined; title?: string }) {
  const state = health?.toLowerCase() ?? 'loading';
  return (
    <span
      className={`badge state state-${state}`}
      data-testid="status-badge"
      data-state={state}
      title={title}
    >
      {health ? HEALTH_LABEL[health] : 'Checking…'}
    </span>
  );
}
