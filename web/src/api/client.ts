// The Apollo client of the console: every request carries the bearer token
// and the console's language (the server answers labels and messages in it).
// Subscriptions (the alerts bell) go over graphql-ws on the same /graphql,
// authenticated in connection_init; the socket opens only while something
// is subscribed, and closes at sign-out.
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { SetContextLink } from '@apollo/client/link/context';
import { ErrorLink } from '@apollo/client/link/error';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { CombinedGraphQLErrors } from '@apollo/client/errors';
import { OperationTypeNode } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
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

let sockets: Client | null = null;

/** closeSubscriptions ends the graphql-ws connection (sign-out). */
export function closeSubscriptions(): void {
  sockets?.terminate();
}

const reconnected = new Set<() => void>();

/**
 * onReconnected calls f each time the graphql-ws connection is back after
 * it dropped (what was raised meanwhile was not pushed); it returns the
 * function that stops it.
 */
export function onReconnected(f: () => void): () => void {
  reconnected.add(f);
  return () => reconnected.delete(f);
}

function wsLink(): GraphQLWsLink {
  sockets = createClient({
    url: () => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
    lazy: true,
    connectionParams: () => authHeaders(),
    // A border post's link comes and goes: keep trying, more slowly each time.
    retryAttempts: 1_000_000,
    shouldRetry: () => getSession() !== null,
    on: { connected: (_socket, _ack, wasRetry) => { if (wasRetry) reconnected.forEach((f) => f()); } },
  });
  return new GraphQLWsLink(sockets);
}

export function newClient(): ApolloClient {
  const http = ApolloLink.from([expiry, auth, new HttpLink({ uri: '/graphql' })]);
  const link = typeof WebSocket === 'undefined' ? http
    : ApolloLink.split(({ operationType }) => operationType === OperationTypeNode.SUBSCRIPTION, wsLink(), http);
  return new ApolloClient({
    link,
    cache: new InMemoryCache(),
    defaultOptions: { watchQuery: { fetchPolicy: 'cache-and-network' } },
  });
}
