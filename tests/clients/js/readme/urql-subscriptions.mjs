import { Client, fetchExchange, subscriptionExchange } from 'urql';
import { cacheExchange } from '@urql/exchange-graphcache';
import { createClient } from 'graphql-ws';

// Subscriptions over the WebSocket (graphql-transport-ws, credential in connection_init), the rest over HTTP.
// Browsers have a WebSocket; Node 20 passes `webSocketImpl` (the npm `ws` package).
export function createUrqlSubscriptionClient({ url, token, webSocketImpl }) {
  const authorization = `Bearer ${token}`;
  const wsClient = createClient({ url: url.replace(/^http/, 'ws'), connectionParams: { authorization }, webSocketImpl });
  return new Client({
    url,
    fetchOptions: { headers: { Authorization: authorization } },
    exchanges: [
      // `order(id:)` is read from the normalised Order an event (or a mutation) left in the cache.
      cacheExchange({ resolvers: { Query: { order: (_, { id }) => ({ __typename: 'Order', id }) } } }),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: wsClient.subscribe({ ...request, query: request.query || '' }, sink) }),
        }),
      }),
    ],
  });
}
