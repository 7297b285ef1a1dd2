// Fleet administration: orgs and sites, creating both. Org names are listed when the hub offers
// GET /orgs; otherwise org ids come from the sites (the spine only creates orgs).
import { type FormEvent, useState } from 'react';
import { orgsApi } from '../api/orgs.ts';
import { type OrgKind, sitesApi } from '../api/sites.ts';
import { ErrorNote } from '../components/ErrorNote.tsx';
import { dateTime } from '../lib/format.ts';
import { useAsync } from '../lib/use-async.ts';
import { Link } from '../router.tsx';

export function AdminPage() {
  const orgs = useAsync(() => orgsApi.list(), []);
  const sites = useAsync((signal) => sitesApi.list(signal), []);
  const [createdOrgs, setCreatedOrgs] = useState<{ id: string; name: string; kind: OrgKind }[]>([]);
  const [orgName, setOrgName] = useState('');
  const [orgKind, setOrgKind] = useState<OrgKind>('household');
  const [site, setSite] = useState({
    orgId: '',
    name: '',
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
  });
  const [error, setError] = useState<Error>();

  const knownOrgs = [
    ...(orgs.data ?? []),
    ...createdOrgs.filter((c) => !(orgs.data ?? []).some((o) => o.id === c.id)),
  ];
  const orgIds = new Set([...knownOrgs.map((o) => o.id), ...(sites.data ?? []).map((s) => s.org_id)]);
  const orgLabel = (id: string) => knownOrgs.find((o) => o.id === id)?.name ?? id.slice(0, 8);

  const createOrg = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      const org = await orgsApi.create({ name: orgName.trim(), kind: orgKind });
      setCreatedOrgs((list) => [...list, org]);
      setSite((s) => ({ ...s, orgId: org.id }));
      setOrgName('');
      orgs.reload();
    } catch (err) {
      setError(err as Error);
    }
  };
  const createSite = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      await sitesApi.create({ orgId: site.orgId, name: site.name.trim(), timezone: site.timezone });
      setSite((s) => ({ ...s, name: '' }));
      sites.reload();
    } catch (err) {
      setError(err as Error);
    }
  };

  return (
    <div>
      <h1>Administration</h1>
      <ErrorNote error={error ?? sites.error ?? orgs.error} />
      <div className="grid-2">
        <form className="card" onSubmit={createOrg} aria-labelledby="org-title">
          <h2 id="org-title">New organisation</h2>
          <label>
            Name{' '}
            <input value={orgName} onChange={(e) => setOrgName(e.target.value)} required maxLength={200} />
          </label>
          <label>
            Kind{' '}
            <select value={orgKind} onChange={(e) => setOrgKind(e.target.value as OrgKind)}>
              <option value="household">household</option>
              <option value="installer">installer</option>
              <option value="operator">operator</option>
            </select>
          </label>
          <button type="submit">Create organisation</button>
        </form>
        <form className="card" onSubmit={createSite} aria-labelledby="site-title">
          <h2 id="site-title">New site</h2>
          <label>
            Organisation{' '}
            <select value={site.orgId} onChange={(e) => setSite({ ...site, orgId: e.target.value })} required>
              <option value="">Choose…</option>
              {[...orgIds].map((id) => (
                <option key={id} value={id}>
                  {orgLabel(id)}
                </option>
              ))}
            </select>
          </label>
          <label>
            Name{' '}
            <input value={site.name} onChange={(e) => setSite({ ...site, name: e.target.value })} required />
          </label>
          <label>
            Timezone{' '}
            <input
              value={site.timezone}
              onChange={(e) => setSite({ ...site, timezone: e.target.value })}
              required
            />
          </label>
          <button type="submit">Create site</button>
        </form>
      </div>
      <section className="card" aria-labelledby="orgs-title">
        <h2 id="orgs-title">Organisations</h2>
        <ul data-testid="org-list">
          {[...orgIds].map((id) => (
            <li key={id}>
              {orgLabel(id)} <span className="muted">{knownOrgs.find((o) => o.id === id)?.kind ?? ''}</span>
            </li>
          ))}
        </ul>
      </section>
      <section className="card" aria-labelledby="sites-title">
        <h2 id="sites-title">Sites</h2>
        <div className="table-wrap">
          <table data-testid="admin-sites">
            <thead>
              <tr>
                <th>Name</th>
                <th>Organisation</th>
                <th>Status</th>
                <th>Timezone</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              {(sites.data ?? []).map((s) => (
                <tr key={s.id}>
                  <td>
                    <Link href={`/sites/${s.id}`}>{s.name}</Link>
                  </td>
                  <td>{orgLabel(s.org_id)}</td>
                  <td>{s.status}</td>
                  <td>{s.timezone}</td>
                  <td>{dateTime(s.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </div>
  );
}
