// Who is signed in, shared through context. Tokens live in api/http.ts (in memory); on a reload
// the session is restored from the hub's refresh cookie before anything is shown, so a signed-in
// user never sees the login page flash by.
import { createContext, type ReactNode, useContext, useEffect, useState } from 'react';
import { restoreSession, type SessionUser } from './api/auth.ts';
import { onTokens } from './api/http.ts';

interface SessionValue {
  user: SessionUser | null;
  setUser: (user: SessionUser | null) => void;
}

const SessionContext = createContext<SessionValue>({ user: null, setUser: () => {} });

export function SessionProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<SessionUser | null>(null);
  const [restoring, setRestoring] = useState(true);
  useEffect(() => onTokens((tokens) => (tokens ? undefined : setUser(null))), []);
  useEffect(() => {
    let live = true;
    void restoreSession().then((restored) => {
      if (!live) return;
      setUser((current) => current ?? restored);
      setRestoring(false);
    });
    return () => {
      live = false;
    };
  }, []);
  if (restoring) {
    return (
      <main className="login">
        <p className="muted" role="status">
          Loading…
        </p>
      </main>
    );
  }
  return <SessionContext.Provider value={{ user, setUser }}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionValue {
  return useContext(SessionContext);
}
