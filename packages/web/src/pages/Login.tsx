// Sign in with email and password, or (operators) with the hub's admin token.
import { type FormEvent, useState } from 'react';
import { login, loginWithToken, storedUser } from '../api/auth.ts';
import { ErrorNote } from '../components/ErrorNote.tsx';
import { useSession } from '../session.tsx';

export function LoginPage() {
  const { setUser } = useSession();
  const [mode, setMode] = useState<'password' | 'token'>('password');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  // Someone was signed in and did not sign out: the hub ended the session (expired, revoked, disabled).
  const [ended] = useState(() => storedUser() !== null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      setUser(mode === 'password' ? await login(email, password) : await loginWithToken(token.trim()));
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="login">
      <form onSubmit={submit} className="card login-card" aria-labelledby="login-title">
        <h1 id="login-title">Wattfleet</h1>
        {ended && (
          <p className="muted" role="status" data-testid="session-ended">
            Your session has ended. Please sign in again.
          </p>
        )}
        {mode === 'password' ? (
          <>
            <label>
              Email
              <input
                type="email"
                name="email"
                autoComplete="username"
                required
                value={email}
                onChange={(e) => setEmail(e.target.value)}
              />
            </label>
            <label>
              Password
              <input
                type="password"
                name="password"
                autoComplete="current-password"
                required
                value={password}
                onChange={(e) => setPassword(e.target.value)}
              />
            </label>
          </>
        ) : (
          <label>
            Admin token
            <input
              type="password"
              name="token"
              autoComplete="off"
              required
              value={token}
              onChange={(e) => setToken(e.target.value)}
            />
          </label>
        )}
        <ErrorNote error={error} />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <button
          type="button"
          className="link"
          onClick={() => setMode(mode === 'password' ? 'token' : 'password')}
        >
          {mode === 'password' ? 'Sign in with an admin token' : 'Sign in with email and password'}
        </button>
      </form>
    </main>
  );
}
