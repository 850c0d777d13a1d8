import { ApolloClient, HttpLink, InMemoryCache, split } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';
import { createClient } from 'graphql-ws';

// Subscriptions over the WebSocket (graphql-transport-ws, credential in connection_init), the rest over HTTP.
// Browsers have a WebSocket; Node 20 passes `webSocketImpl` (the npm `ws` package).
export function createApolloSubscriptionClient({ uri, token, webSocketImpl }) {
  const authorization = `Bearer ${token}`;
  const httpLink = new HttpLink({ uri, headers: { Authorization: authorization } });
  const wsLink = new GraphQLWsLink(
    createClient({ url: uri.replace(/^http/, 'ws'), connectionParams: { authorization }, webSocketImpl }),
  );
  const link = split(
    ({ query }) => {
      const def = getMainDefinition(query);
      return def.kind === 'OperationDefinition' && def.operation === 'subscription';
    },
    wsLink,
    httpLink,
  );
  return new ApolloClient({ link, cache: new InMemoryCache() });
}
