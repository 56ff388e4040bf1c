// The Apollo client of the console: every request carries the bearer token
// and the console's language (the server answers labels and messages in it).
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { SetContextLink } from '@apollo/client/link/context';
import { ErrorLink } from '@apollo/client/link/error';
import { CombinedGraphQLErrors } from '@apollo/client/errors';
import { clearSession, getSession } from '../auth/session';
import { currentLanguage } from '../i18n';

export function authHeaders(): Record<string, string> {
  const s = getSession();
  const h: Record<string, string> = { 'Accept-Language': currentLanguage() };
  if (s) h.Authorization = `Bearer ${s.token}`;
  return h;
}

const auth = new SetContextLink((prev) => ({ headers: { ...prev.headers, ...authHeaders() } }));

// A refused token ends the session: the person signs in again.
const expiry = new ErrorLink(({ error }) => {
  if (CombinedGraphQLErrors.is(error) && error.errors.some((e) => e.extensions?.code === 'UNAUTHENTICATED') && getSession()) {
    clearSession();
  }
});

export function newClient(): ApolloClient {
  return new ApolloClient({
    link: ApolloLink.from([expiry, auth, new HttpLink({ uri: '/graphql' })]),
    cache: new InMemoryCache(),
    defaultOptions: { watchQuery: { fetchPolicy: 'cache-and-network' } },
  });
}
