import { Client, fetchExchange } from '@urql/core';
import { cacheExchange } from '@urql/exchange-graphcache';
import { relayPagination } from '@urql/exchange-graphcache/extras';

export function createUrqlClient({ url, token, fetch = globalThis.fetch }) {
  // 'outwards': a page fetched with `last`/`before` goes in front of the pages already held (the gateway
  // pages backwards from a cursor, towards the newest), one with `first`/`after` behind them.
  const pages = relayPagination({ mergeMode: 'outwards' });
  return new Client({
    url,
    fetch,
    // Queries go out as GET (urql's default); the bearer token is also what lets them past CSRF prevention.
    fetchOptions: () => (token ? { headers: { Authorization: `Bearer ${token}` } } : {}),
    exchanges: [
      cacheExchange({
        // Types without an `id` live inside their parent instead of being normalised.
        keys: {
          OrderConnection: () => null,
          OrderEdge: () => null,
          SubaccountConnection: () => null,
          SubaccountEdge: () => null,
          PageInfo: () => null,
        },
        resolvers: { Query: { orders: pages, subaccounts: pages }, Subaccount: { orders: pages } },
      }),
      fetchExchange,
    ],
  });
}
