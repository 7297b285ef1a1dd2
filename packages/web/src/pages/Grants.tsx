// Admin: which installer organisations may work on a site. Grant a site to an installer org (for
// good or until a date), list every grant with its state, revoke one. The hub checks everything
// again (installer orgs only, expiry in the future) and its refusal is shown field by field.
import { type FormEvent, useState } from 'react';
import { orgsApi } from '../api/orgs.ts';
import { sitesApi } from '../api/sites.ts';
import { type Grant, usersApi } from '../api/users.ts';
import { ErrorNote } from '../components/ErrorNote.tsx';
import { dateTime } from '../lib/format.ts';
import { useAsync } from '../lib/use-async.ts';
import { Link, navigate } from '../router.tsx';

type GrantState = 'active' | 'expired' | 'revoked';

function stateOf(g: Grant): GrantState {
  if (g.revokedAt) return 'revoked';
  return g.active ? 'active' : 'expired';
}

export function GrantsPage() {
  const sites = useAsync((signal) => sitesApi.list(signal), []);
  const orgs = useAsync(() => orgsApi.list(), []);
  const [chosen, setChosen] = useState(() => new URLSearchParams(location.search).get('site') ?? '');
  const siteId = chosen || sites.data?.[0]?.id || '';
  const grants = useAsync(() => (siteId ? usersApi.grants(siteId) : Promise.resolve([])), [siteId]);
  const [orgId, setOrgId] = useState('');
  const [expires, setExpires] = useState('');
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);

  const installers = (orgs.data ?? []).filter((o) => o.kind === 'installer');
  const orgName = (id: string) => orgs.data?.find((o) => o.id === id)?.name ?? id.slice(0, 8);
  const site = sites.data?.find((s) => s.id === siteId);

  const choose = (id: string) => {
    setChosen(id);
    setError(undefined);
    // Kept in the URL so the page can be linked to (and reloaded) with the site chosen.
    navigate(`/grants?site=${encodeURIComponent(id)}`, true);
  };
  const grant = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setBusy(true);
    try {
      // datetime-local is the browser's wall clock; the hub wants an instant.
      await usersApi.grant(siteId, { orgId, expiresAt: expires ? new Date(expires).toISOString() : null });
      setOrgId('');
      setExpires('');
      grants.reload();
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  const revoke = async (g: Grant) => {
    setError(undefined);
    try {
      await usersApi.revoke(g.siteId, g.id);
      grants.reload();
    } catch (err) {
      setError(err as Error);
    }
  };

  return (
    <div>
      <h1 tabIndex={-1}>Site access</h1>
      <p className="muted">
        Installer organisations see and service only the sites granted to them. A grant can end on a date or
        be revoked at any time.
      </p>
      <ErrorNote error={error ?? sites.error ?? orgs.error ?? grants.error} />
      <div className="card toolbar">
        <label>
          Site{' '}
          <select value={siteId} onChange={(e) => choose(e.target.value)}>
            {(sites.data ?? []).map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </label>
        {site && <Link href={`/sites/${site.id}`}>Open {site.name}</Link>}
      </div>
      {site && (
        <p className="card" data-testid="site-installer">
          {site.installer_org_id ? (
            <>
              <strong>{orgName(site.installer_org_id)}</strong> installs this site and manages it without a
              grant (change it on the site itself). Grants below give access to other installer organisations.
            </>
          ) : (
            <>No installer organisation installs this site; only the grants below give installers access.</>
          )}
        </p>
      )}
      {siteId && (
        <form className="card toolbar" onSubmit={grant} aria-labelledby="grant-title">
          <h2 id="grant-title">Grant access</h2>
          <label>
            Installer organisation{' '}
            <select value={orgId} onChange={(e) => setOrgId(e.target.value)} required>
              <option value="">Choose…</option>
              {installers.map((o) => (
                <option key={o.id} value={o.id}>
                  {o.name}
                </option>
              ))}
            </select>
          </label>
          <label>
            Until (optional){' '}
            <input type="datetime-local" value={expires} onChange={(e) => setExpires(e.target.value)} />
          </label>
          <button type="submit" className="primary" disabled={busy || !orgId}>
            Grant
          </button>
          {orgs.data && installers.length === 0 && (
            <span className="muted">No installer organisation yet; create one under Admin.</span>
          )}
        </form>
      )}
      <div className="table-wrap card">
        <table data-testid="grants-table">
          <thead>
            <tr>
              <th>Installer</th>
              <th>Granted</th>
              <th>Until</th>
              <th>State</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(grants.data ?? []).map((g) => {
              const state = stateOf(g);
              return (
                <tr key={g.id} data-grant={g.id} data-org={g.orgId} data-state={state}>
                  <td>{orgName(g.orgId)}</td>
                  <td>{dateTime(g.createdAt)}</td>
                  <td>{g.expiresAt ? dateTime(g.expiresAt) : 'no end'}</td>
                  <td>
                    <span className={`state state-${state === 'active' ? 'online' : 'offline'}`}>
                      {state}
                    </span>
                    {g.revokedAt && <span className="muted"> {dateTime(g.revokedAt)}</span>}
                  </td>
                  <td>
                    {state !== 'revoked' && (
                      <button
                        type="button"
                        onClick={() => void revoke(g)}
                        aria-label={`Revoke ${orgName(g.orgId)}`}
                      >
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
            {grants.data?.length === 0 && (
              <tr>
                <td colSpan={5} className="muted">
                  {site?.installer_org_id
                    ? `No other installer has been granted access; ${orgName(site.installer_org_id)} manages it as its installer.`
                    : 'No installer has access to this site.'}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </div>
  );
}
