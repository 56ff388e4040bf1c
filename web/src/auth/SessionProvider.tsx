// Who is signed in, and what they may do (me.permissions drive the
// navigation; the server decides every request anyway).
import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import { useApolloClient, useQuery } from '@apollo/client/react';
import { MeDocument, type MeQuery } from '../gql/graphql';
import { clearSession, getSession, onSession, rememberMe, rememberedMe, type Session } from './session';
import { CombinedGraphQLErrors } from '@apollo/client/errors';
import { oidcSignOut } from './oidc';
import { lock } from '../complaints/queue';
import { closeSubscriptions } from '../api/client';

type Ctx = {
  session: Session | null;
  me: MeQuery['me'] | null;
  loading: boolean;
  can: (permission: string) => boolean;
  signOut: () => Promise<void>;
};

const SessionContext = createContext<Ctx | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const client = useApolloClient();
  const [session, setSession] = useState<Session | null>(getSession());
  useEffect(() => onSession(setSession), []);
  const { data, loading, error } = useQuery(MeDocument, { skip: !session, fetchPolicy: 'network-only' });
  useEffect(() => { if (data?.me) rememberMe(data.me); }, [data]);
  // Offline, the profile remembered in this tab stands in until the server answers.
  const offline = !!error && !CombinedGraphQLErrors.is(error);
  const me = session ? (data?.me ?? (offline || !navigator.onLine ? rememberedMe<MeQuery['me']>() : null)) : null;

  const signOut = async () => {
    // Everything of this person goes: the token, the query cache (case
    // data), the session storage. The encrypted outbox of complaints not yet
    // sent stays: it is unreadable without its owner's passphrase, and
    // erasing it would lose a complaint.
    clearSession();
    closeSubscriptions();
    lock();
    await client.clearStore();
    await oidcSignOut();
  };
  const can = (p: string) => !!me?.permissions.includes(p);
  return <SessionContext.Provider value={{ session, me, loading: !!session && loading && !me, can, signOut }}>{children}</SessionContext.Provider>;
}

export function useSession(): Ctx {
  const c = useContext(SessionContext);
  if (!c) throw new Error('useSession outside SessionProvider');
  return c;
}

export { clearSession };
