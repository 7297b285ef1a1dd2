// Admin: users of every org (create with a role, change the role, reset the password, disable /
// enable) and the audit log. The hub checks who may do what, audits it, and ends the sessions of a
// user whose password was reset; this page shows the outcome.
import type { Role } from '@wattfleet/protocol';
import { type FormEvent, useState } from 'react';
import { orgsApi } from '../api/orgs.ts';
import { type AuditItem, auditApi, type User, usersApi } from '../api/users.ts';
import { ErrorNote } from '../components/ErrorNote.tsx';
import { dateTime } from '../lib/format.ts';
import { ACCOUNT_STATE_LABEL } from '../lib/status.ts';
import { useAsync } from '../lib/use-async.ts';

// org_admin: manages the users and sites of its own org (a fleet-wide admin needs an operator org).
const ROLES: Role[] = ['admin', 'org_admin', 'installer', 'owner', 'viewer'];

export function UsersPage() {
  const users = useAsync(() => usersApi.list(), []);
  const orgs = useAsync(() => orgsApi.list(), []);
  const [form, setForm] = useState({ orgId: '', email: '', role: 'owner' as Role, password: '' });
  const [error, setError] = useState<Error>();
  const [created, setCreated] = useState<string>();
  const [outcome, setOutcome] = useState<string>();
  const orgName = (id: string) => orgs.data?.find((o) => o.id === id)?.name ?? id.slice(0, 8);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      const u = await usersApi.create({
        orgId: form.orgId,
        email: form.email.trim(),
        role: form.role,
        ...(form.password ? { password: form.password } : {}),
      });
      setCreated(
        u.temporaryPassword
          ? `${u.email} created; temporary password ${u.temporaryPassword}`
          : `${u.email} created`,
      );
      setForm((f) => ({ ...f, email: '', password: '' }));
      users.reload();
    } catch (err) {
      setError(err as Error);
    }
  };
  const toggle = async (id: string, disabled: boolean) => {
    setError(undefined);
    try {
      await usersApi.setDisabled(id, disabled);
      users.reload();
    } catch (err) {
      setError(err as Error);
    }
  };
  const changeRole = async (u: User, role: Role) => {
    setError(undefined);
    setOutcome(undefined);
    try {
      await usersApi.setRole(u.id, role);
      setOutcome(`${u.email} is now ${role}`);
    } catch (err) {
      setError(err as Error);
    }
    users.reload();
  };
  const reset = async (u: User) => {
    setError(undefined);
    setOutcome(undefined);
    if (!window.confirm(`Reset the password of ${u.email}? They are signed out everywhere.`)) return;
    try {
      const r = await usersApi.resetPassword(u.id);
      setOutcome(
        `${u.email}: temporary password ${r.temporaryPassword} (shown once; they choose their own at the next sign-in, and every session of theirs has ended)`,
      );
    } catch (err) {
      setError(err as Error);
    }
    users.reload();
  };

  return (
    <div>
      <h1 tabIndex={-1}>Users</h1>
      <ErrorNote error={error ?? users.error} />
      <form className="card" onSubmit={create} aria-labelledby="new-user">
        <h2 id="new-user">New user</h2>
        <label>
          Organisation{' '}
          <select value={form.orgId} onChange={(e) => setForm({ ...form, orgId: e.target.value })} required>
            <option value="">Choose…</option>
            {(orgs.data ?? []).map((o) => (
              <option key={o.id} value={o.id}>
                {o.name} ({o.kind})
              </option>
            ))}
          </select>
        </label>
        <label>
          Email{' '}
          <input
            type="email"
            value={form.email}
            onChange={(e) => setForm({ ...form, email: e.target.value })}
            required
          />
        </label>
        <label>
          Role{' '}
          <select value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as Role })}>
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <label>
          Initial password (optional){' '}
          <input
            type="password"
            value={form.password}
            onChange={(e) => setForm({ ...form, password: e.target.value })}
            autoComplete="new-password"
          />
        </label>
        <button type="submit">Create user</button>
        {created && <p data-testid="user-created">{created}</p>}
      </form>
      {outcome && (
        <p className="card" role="status" data-testid="user-outcome">
          {outcome}
        </p>
      )}
      <div className="table-wrap card">
        <table data-testid="users-table">
          <thead>
            <tr>
              <th>Email</th>
              <th>Role</th>
              <th>Organisation</th>
              <th>Last login</th>
              <th>State</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(users.data ?? []).map((u) => (
              <tr key={u.id} data-email={u.email} data-state={u.disabled ? 'disabled' : 'active'}>
                <td>{u.email}</td>
                <td>
                  <select
                    value={u.role}
                    aria-label={`Role of ${u.email}`}
                    onChange={(e) => void changeRole(u, e.target.value as Role)}
                  >
                    {ROLES.map((r) => (
                      <option key={r}>{r}</option>
                    ))}
                  </select>
                </td>
                <td>{orgName(u.orgId)}</td>
                <td>{dateTime(u.lastLoginAt)}</td>
                <td>{ACCOUNT_STATE_LABEL[u.disabled ? 'disabled' : 'active']}</td>
                <td>
                  <div className="row-actions">
                    <button
                      type="button"
                      onClick={() => void reset(u)}
                      aria-label={`Reset password of ${u.email}`}
                    >
                      Reset password
                    </button>
                    <button
                      type="button"
                      onClick={() => void toggle(u.id, !u.disabled)}
                      aria-label={`${u.disabled ? 'Enable' : 'Disable'} ${u.email}`}
                    >
                      {u.disabled ? 'Enable' : 'Disable'}
                    </button>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

/** datetime-local (the browser's wall clock, to the second) → the instant the hub filters on. */
function instant(local: string): string | undefined {
  return local ? new Date(local).toISOString() : undefined;
}

export function AuditPage() {
  const users = useAsync(() => usersApi.list(), []);
  const empty = { action: '', actor: '', targetType: '', result: '', from: '', to: '' };
  const [filters, setFilters] = useState(empty);
  const [applied, setApplied] = useState(filters);
  const [cursors, setCursors] = useState<number[]>([]);
  const cursor = cursors.at(-1);
  const page = useAsync(
    () =>
      auditApi.list({
        limit: 50,
        cursor,
        action: applied.action.trim() || undefined,
        actor: applied.actor || undefined,
        targetType: applied.targetType.trim() || undefined,
        result: applied.result || undefined,
        from: instant(applied.from),
        to: instant(applied.to),
      }),
    [applied, cursor],
  );
  const email = (id: string | null) => (id ? users.data?.find((u) => u.id === id)?.email : undefined);
  const text = (key: 'action' | 'targetType', label: string) => (
    <label>
      {label}{' '}
      <input value={filters[key]} onChange={(e) => setFilters({ ...filters, [key]: e.target.value })} />
    </label>
  );
  const time = (key: 'from' | 'to', label: string) => (
    <label>
      {label}{' '}
      <input
        type="datetime-local"
        step={1}
        value={filters[key]}
        onChange={(e) => setFilters({ ...filters, [key]: e.target.value })}
      />
    </label>
  );
  return (
    <div>
      <h1 tabIndex={-1}>Audit log</h1>
      <form
        className="card toolbar"
        aria-label="Audit filters"
        onSubmit={(e) => {
          e.preventDefault();
          setCursors([]);
          setApplied(filters);
        }}
      >
        {text('action', 'Action (e.g. user.*)')}
        <label>
          Actor{' '}
          <select value={filters.actor} onChange={(e) => setFilters({ ...filters, actor: e.target.value })}>
            <option value="">anyone</option>
            {(users.data ?? []).map((u) => (
              <option key={u.id} value={u.id}>
                {u.email}
              </option>
            ))}
          </select>
        </label>
        {text('targetType', 'Target type')}
        <label>
          Result{' '}
          <select value={filters.result} onChange={(e) => setFilters({ ...filters, result: e.target.value })}>
            <option value="">any</option>
            <option>ok</option>
            <option>denied</option>
            <option>failed</option>
          </select>
        </label>
        {time('from', 'From')}
        {time('to', 'Until')}
        <button type="submit">Filter</button>
        <button
          type="button"
          onClick={() => {
            setFilters(empty);
            setCursors([]);
            setApplied(empty);
          }}
        >
          Clear
        </button>
      </form>
      <ErrorNote error={page.error} />
      <div className="table-wrap card">
        <table data-testid="audit-table">
          <thead>
            <tr>
              <th>At</th>
              <th>Actor</th>
              <th>Action</th>
              <th>Target</th>
              <th>Result</th>
            </tr>
          </thead>
          <tbody>
            {(page.data?.items ?? []).map((a: AuditItem) => (
              <tr key={a.id} data-action={a.action} data-actor={a.actorId ?? ''} data-at={a.at}>
                <td>{dateTime(a.at)}</td>
                <td>
                  {email(a.actorId) ?? (
                    <>
                      {a.actorType}
                      {a.actorId ? `:${a.actorId.slice(0, 8)}` : ''}
                    </>
                  )}
                </td>
                <td>{a.action}</td>
                <td>
                  {a.targetType ?? ''} {a.targetId?.slice(0, 8) ?? ''}
                </td>
                <td>{a.result}</td>
              </tr>
            ))}
            {page.data?.items.length === 0 && (
              <tr>
                <td colSpan={5} className="muted">
                  Nothing matches.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <div className="actions">
        <button
          type="button"
          disabled={cursors.length === 0}
          onClick={() => setCursors((c) => c.slice(0, -1))}
        >
          Newer
        </button>
        <button
          type="button"
          disabled={!page.data?.nextCursor}
          onClick={() => page.data?.nextCursor && setCursors((c) => [...c, page.data!.nextCursor!])}
        >
          Older
        </button>
      </div>
    </div>
  );
}
