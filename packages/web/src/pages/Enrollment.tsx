// Enrollment codes (admins, installers): create a one-time code for a site, shown once together
// with the command to run on the new node, list earlier codes (pending, used, expired, revoked)
// without the codes themselves, which the hub keeps only hashed, and revoke a pending one.
import { type FormEvent, useState } from 'react';
import type { EnrollmentCodeInfo } from '../api/fleet.ts';
import { request } from '../api/http.ts';
import { type EnrollmentCode, sitesApi } from '../api/sites.ts';
import { ErrorNote } from '../components/ErrorNote.tsx';
import { dateTime } from '../lib/format.ts';
import { useAsync } from '../lib/use-async.ts';
import { Link } from '../router.tsx';

const VALIDITY: { minutes: number; label: string }[] = [
  { minutes: 60, label: '1 hour' },
  { minutes: 24 * 60, label: '1 day' },
  { minutes: 7 * 24 * 60, label: '7 days' },
  { minutes: 30 * 24 * 60, label: '30 days' },
];

// The list's id, the revoked state and the revoke call (hub: GET /fleet/enrollment-codes,
// POST /fleet/enrollment-codes/{id}/revoke); they belong in api/fleet.ts once that module takes them.
type CodeState = EnrollmentCodeInfo['state'] | 'revoked';
type CodeRow = Omit<EnrollmentCodeInfo, 'state'> & { id: string; state: CodeState };
type StateFilter = CodeState | 'all';
const codesApi = {
  list: (state: StateFilter) => request<CodeRow[]>('/fleet/enrollment-codes', { query: { state } }),
  revoke: (id: string) =>
    request<{ id: string; state: 'revoked' }>(`/fleet/enrollment-codes/${encodeURIComponent(id)}/revoke`, {
      method: 'POST',
    }),
};

/** The agent's own enroll command, quoted for a POSIX shell. */
function enrollCommand(code: string, name: string): string {
  const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  return `wattfleet-agent enroll --hub ${q(location.origin)} --code ${q(code)}${name ? ` --name ${q(name)}` : ''}`;
}

export function EnrollmentPage() {
  const sites = useAsync((signal) => sitesApi.list(signal), []);
  const [filter, setFilter] = useState<StateFilter>('all');
  const codes = useAsync(() => codesApi.list(filter), [filter]);
  const [form, setForm] = useState({ siteId: '', nodeName: '', minutes: 24 * 60 });
  const [created, setCreated] = useState<{ code: EnrollmentCode; name: string }>();
  const [error, setError] = useState<Error>();
  const [revoking, setRevoking] = useState<string>();
  const siteId = form.siteId || sites.data?.[0]?.id || '';

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      const name = form.nodeName.trim();
      const code = await sitesApi.createEnrollmentCode(siteId, {
        nodeName: name || undefined,
        ttlMinutes: form.minutes,
      });
      setCreated({ code, name });
      setForm((f) => ({ ...f, nodeName: '' }));
      codes.reload();
    } catch (err) {
      setError(err as Error);
    }
  };

  // A used code cannot be revoked (the hub answers 409): deactivate its node instead.
  const revoke = async (c: CodeRow) => {
    setError(undefined);
    setRevoking(c.id);
    try {
      await codesApi.revoke(c.id);
      codes.reload();
    } catch (err) {
      setError(err as Error);
    } finally {
      setRevoking(undefined);
    }
  };

  return (
    <div>
      <h1 tabIndex={-1}>Enrollment codes</h1>
      <ErrorNote error={error ?? sites.error ?? codes.error} />
      <form className="card toolbar" onSubmit={create} aria-labelledby="code-title">
        <h2 id="code-title">New code</h2>
        <label>
          Site{' '}
          <select value={siteId} onChange={(e) => setForm({ ...form, siteId: e.target.value })} required>
            {(sites.data ?? []).map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Node name (optional){' '}
          <input
            value={form.nodeName}
            onChange={(e) => setForm({ ...form, nodeName: e.target.value })}
            maxLength={100}
          />
        </label>
        <label>
          Valid for{' '}
          <select
            value={form.minutes}
            onChange={(e) => setForm({ ...form, minutes: Number(e.target.value) })}
          >
            {VALIDITY.map((v) => (
              <option key={v.minutes} value={v.minutes}>
                {v.label}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" className="primary" disabled={!siteId}>
          Create code
        </button>
      </form>
      {created && (
        <section className="card" aria-labelledby="new-code-title" data-testid="new-code">
          <h2 id="new-code-title">Code for {sites.data?.find((s) => s.id === created.code.siteId)?.name}</h2>
          <p>
            <code data-testid="enrollment-code" className="big-code">
              {created.code.code}
            </code>
          </p>
          <p className="muted">
            Shown only now. Valid once, until {dateTime(created.code.expiresAt)}. On the new node run:
          </p>
          <pre className="logs">{enrollCommand(created.code.code, created.name)}</pre>
        </section>
      )}
      <div className="card">
        <div className="card-head">
          <h2>Codes</h2>
          <label>
            Show{' '}
            <select value={filter} onChange={(e) => setFilter(e.target.value as StateFilter)}>
              <option value="all">all</option>
              <option value="pending">pending</option>
              <option value="used">used</option>
              <option value="expired">expired</option>
              <option value="revoked">revoked</option>
            </select>
          </label>
        </div>
        <div className="table-wrap">
          <table data-testid="codes-table">
            <thead>
              <tr>
                <th>Site</th>
                <th>Node name</th>
                <th>Created</th>
                <th>Valid until</th>
                <th>State</th>
                <th>Node</th>
                <th>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {(codes.data ?? []).map((c) => (
                <tr key={c.id} data-code={c.id} data-state={c.state}>
                  <td>
                    <Link href={`/sites/${c.siteId}`}>{c.siteName}</Link>
                  </td>
                  <td>{c.nodeName ?? '–'}</td>
                  <td>{dateTime(c.createdAt)}</td>
                  <td>{dateTime(c.expiresAt)}</td>
                  <td>
                    <span
                      className={`state state-${c.state === 'pending' ? 'pending' : c.state === 'used' ? 'online' : 'expired'}`}
                    >
                      {c.state}
                    </span>
                    {c.usedAt && <span className="muted"> {dateTime(c.usedAt)}</span>}
                  </td>
                  <td>{c.nodeId && c.state === 'used' ? c.nodeId.slice(0, 8) : '–'}</td>
                  <td>
                    {c.state === 'pending' && (
                      <button
                        type="button"
                        onClick={() => void revoke(c)}
                        disabled={revoking === c.id}
                        aria-label={`Revoke code for ${c.nodeName ?? c.siteName}`}
                      >
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
              {codes.data?.length === 0 && (
                <tr>
                  <td colSpan={7} className="muted">
                    No codes.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      </div>
    </div>
  );
}
