import { Client, fetchExchange } from '@urql/core';
import { cacheExchange } from '@urql/exchange-graphcache';
import { relayPagination } from '@urql/exchange-graphcache/extras';

export function createUrqlClient({ url, token, fetch = globalThis.fetch }) {
  // 'outwards': a page fetched with `last`/`before` goes in front of the pages already held (the gateway
  // pages backwards from a cursor, towards the newest), one with `first`/`after` behind them.
  const pages = relayPagination({ mergeMode: 'outwards' });
  // urql sends queries as GET with no Content-Type: the bearer token (or, in sandbox mode without one,
  // the preflight header) shows the gateway's CSRF prevention that no browser forged the request.
  const headers = token ? { Authorization: `Bearer ${token}` } : { 'apollo-require-preflight': 'true' };
  return new Client({
    url,
    fetch,
    fetchOptions: { headers },
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
