// The signed-in user's own account: who they are and a password change. The hub checks the
// current password and its policy (the refusal is shown as it gives it) and signs out every other
// device of the user; this one stays signed in.
import { type FormEvent, useState } from 'react';
import { changePassword } from '../api/auth.ts';
import { ErrorNote } from '../components/ErrorNote.tsx';
import { useSession } from '../session.tsx';

export function AccountPage() {
  const { user, setUser } = useSession();
  const [form, setForm] = useState({ current: '', next: '', repeat: '' });
  const [error, setError] = useState<Error>();
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);
  if (!user) return null;

  const mismatch = form.repeat !== '' && form.next !== form.repeat;
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (form.next !== form.repeat) return;
    setError(undefined);
    setDone(false);
    setBusy(true);
    try {
      const updated = await changePassword(form.current, form.next);
      if (updated) setUser(updated);
      setForm({ current: '', next: '', repeat: '' });
      setDone(true);
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div>
      <h1 tabIndex={-1}>Account</h1>
      <p data-testid="account-who">
        {user.email} · {user.role}
      </p>
      {user.id === 'token' ? (
        <p className="muted">
          Signed in with the hub's admin token: there is no password to change here. The token is set in the
          hub's configuration (WATTFLEET_ADMIN_TOKEN).
        </p>
      ) : (
        <form className="card" onSubmit={submit} aria-labelledby="password-title">
          <h2 id="password-title">Change password</h2>
          {user.mustChangePassword && (
            <p className="error" data-testid="must-change">
              Your password was set by an administrator. Choose your own.
            </p>
          )}
          <label>
            Current password{' '}
            <input
              type="password"
              autoComplete="current-password"
              required
              value={form.current}
              onChange={(e) => setForm({ ...form, current: e.target.value })}
            />
          </label>
          <label>
            New password{' '}
            <input
              type="password"
              autoComplete="new-password"
              required
              minLength={10}
              value={form.next}
              onChange={(e) => setForm({ ...form, next: e.target.value })}
            />
          </label>
          <label>
            Repeat new password{' '}
            <input
              type="password"
              autoComplete="new-password"
              required
              value={form.repeat}
              aria-invalid={mismatch}
              onChange={(e) => setForm({ ...form, repeat: e.target.value })}
            />
          </label>
          {mismatch && <p className="error">The two new passwords differ.</p>}
          <p className="muted">At least 10 characters. Other devices signed in as you are signed out.</p>
          <button type="submit" className="primary" disabled={busy || mismatch}>
            Change password
          </button>
          {done && (
            <p className="ok" role="status" data-testid="password-changed">
              Password changed. Other sessions were signed out.
            </p>
          )}
          <ErrorNote error={error} />
        </form>
      )}
    </div>
  );
}
