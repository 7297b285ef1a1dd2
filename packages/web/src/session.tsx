// Who is signed in, shared through context. Tokens live in api/http.ts; this mirrors them for React.
import { createContext, type ReactNode, useContext, useEffect, useState } from 'react';
import { type SessionUser, storedUser } from './api/auth.ts';
import { getTokens, onTokens } from './api/http.ts';

interface SessionValue {
  user: SessionUser | null;
  setUser: (user: SessionUser | null) => void;
}

const SessionContext = createContext<SessionValue>({ user: null, setUser: () => {} });

export function SessionProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<SessionUser | null>(() => (getTokens() ? storedUser() : null));
  useEffect(() => onTokens((tokens) => (tokens ? undefined : setUser(null))), []);
  return <SessionContext.Provider value={{ user, setUser }}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionValue {
  return useContext(SessionContext);
}
