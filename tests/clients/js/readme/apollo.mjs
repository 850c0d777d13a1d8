import { ApolloClient, HttpLink, InMemoryCache } from '@apollo/client';
import { createPersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { relayStylePagination } from '@apollo/client/utilities';

// Web Crypto: the same code runs in browsers and in Node >= 20.
async function sha256(text) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

export function createApolloClient({ uri, token, fetch = globalThis.fetch }) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  // APQ: queries go out as GET with only the hash (CDN-cacheable), mutations as POST.
  const persisted = createPersistedQueryLink({ sha256, useGETForHashedQueries: true });
  return new ApolloClient({
    link: persisted.concat(new HttpLink({ uri, headers, fetch })),
    cache: new InMemoryCache({
      // Every `Node` is normalised by `__typename` + `id` (Apollo's default); `upstreamId` is the REST id.
      possibleTypes: {
        Node: ['CheckoutSession', 'Order', 'Portfolio', 'Project', 'ProjectCategory', 'Subaccount'],
      },
      typePolicies: {
        Query: {
          fields: {
            orders: relayStylePagination(['subaccountId']),
            subaccounts: relayStylePagination(),
          },
        },
        Subaccount: { fields: { orders: relayStylePagination() } },
      },
    }),
  });
}
