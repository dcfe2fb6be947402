/** The signed-in session, shared with every screen. */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Role, Session } from './types';

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (session === null) throw new Error('useSession outside a signed-in layout');
  return session;
}

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

/** Whether the session's role is at least `role` (admin > operator > viewer). */
export function can(session: Session, role: Role): boolean {
  return (RANK[session.role] ?? 0) >= RANK[role];
}
