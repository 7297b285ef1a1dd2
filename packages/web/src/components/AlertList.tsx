// Open and acknowledged alerts of a site (or of every visible site), kept current by
// alert.updated events; installers and admins acknowledge from here.
import { useEffect, useState } from 'react';
import { alertsApi } from '../api/alerts.ts';
import { dateTime } from '../lib/format.ts';
import { useAsync } from '../lib/use-async.ts';
import { realtime } from '../realtime/client.ts';
import { ErrorNote } from './ErrorNote.tsx';

/** timeZone: the site's, so "since when" reads in the site's time like its charts. */
export function AlertList({
  siteId,
  canAck,
  timeZone,
}: {
  siteId?: string;
  canAck: boolean;
  timeZone?: string;
}) {
  const alerts = useAsync(() => alertsApi.list({ siteId, state: 'active' }), [siteId]);
  const { reload } = alerts;
  const [error, setError] = useState<Error>();
  const ack = async (id: string) => {
    setError(undefined);
    try {
      await alertsApi.ack(id);
    } catch (err) {
      setError(err as Error);
    }
    reload();
  };
  useEffect(() => {
    const unsubscribe = siteId ? realtime.subscribe({ siteId }) : () => {};
    const off = realtime.onEvent('alert.updated', (d) => {
      if (!siteId || d.siteId === siteId) reload();
    });
    return () => {
      unsubscribe();
      off();
    };
  }, [siteId, reload]);
  const list = alerts.data ?? [];
  return (
    <section className="card" aria-labelledby="alerts-title">
      <h2 id="alerts-title">Alerts</h2>
      <ErrorNote error={error ?? alerts.error} />
      {list.length === 0 && !alerts.loading && <p className="muted">No open alerts.</p>}
      <ul className="alerts" data-testid="alert-list">
        {list.map((a) => (
          <li key={a.id} className={`alert-${a.severity}`} data-state={a.state} data-rule={a.rule}>
            <strong>{a.severity}</strong> {a.message || a.rule}{' '}
            <span className="muted">
              · {a.state} · {dateTime(a.openedAt, timeZone)}
            </span>
            {canAck && a.state === 'open' && (
              <button
                type="button"
                onClick={() => void ack(a.id)}
                aria-label={`Acknowledge ${a.message || a.rule}`}
              >
                Acknowledge
              </button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
