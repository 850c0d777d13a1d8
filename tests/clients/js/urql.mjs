// urql against the gateway: `node urql.mjs GRAPHQL_URL TOKEN`.
// Checks: @urql/core with its default options (document cache, queries over GET), with and without the
// bearer token; the README's client (graphcache relayPagination) paging forwards and backwards.
// `node urql.mjs GRAPHQL_URL` (an open sandbox-mode gateway): only the README's client, without a token.
import assert from 'node:assert/strict';
import { Client, cacheExchange, fetchExchange, gql } from '@urql/core';
import { check, finish, recordingFetch } from './harness.mjs';
import { createUrqlClient } from './readme/urql.mjs';

const [url, token] = process.argv.slice(2);
const PAGE = 7;

const ORDERS = gql`
  query Orders($first: Int, $after: String, $last: Int, $before: String) {
    orders(first: $first, after: $after, last: $last, before: $before) {
      edges { cursor node { id amountKg } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
`;
const PLACE = gql`
  mutation Place($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id } userErrors { code } } }
`;

const codes = (error) => error?.graphQLErrors.map((e) => e.extensions?.code) ?? [];
const ids = (edges) => edges.map((edge) => edge.node.id);

function defaultClient(headers, log) {
  const fetchOptions = headers ? { headers } : undefined;
  return new Client({ url, exchanges: [cacheExchange, fetchExchange], fetchOptions, fetch: recordingFetch(log) });
}

if (token) {
  await check('defaultOptionsWithToken', async () => {
    const log = [];
    const client = defaultClient({ Authorization: `Bearer ${token}` }, log);
    const query = await client.query(ORDERS, { first: 3 }).toPromise();
    assert.equal(query.error, undefined, String(query.error));
    const placed = await client.mutation(PLACE, { input: { amountKg: 2, description: 'urql' } }).toPromise();
    assert.equal(placed.error, undefined, String(placed.error));
    const invalid = await client.query(gql`query Invalid { orders(first: 1) { nope } }`, {}).toPromise();
    return {
      orders: query.data.orders.edges.length,
      userErrors: placed.data.placeOrder.userErrors,
      requestErrorCodes: codes(invalid.error),
      requests: log.map((r) => [r.method, r.headers.accept?.split(',')[0] ?? null]),
    };
  });

  await check('defaultOptionsWithoutToken', async () => {
    const log = [];
    const result = await defaultClient(undefined, log).query(ORDERS, { first: 3 }).toPromise();
    return { data: result.data ?? null, codes: codes(result.error), method: log[0].method };
  });

  await check('graphcacheForward', async () => {
    const client = createUrqlClient({ url, token });
    let result = (await client.query(ORDERS, { first: PAGE }).toPromise()).data.orders;
    const pages = [result.edges.length];
    while (result.pageInfo.hasNextPage) {
      const before = result.edges.length;
      const next = await client.query(ORDERS, { first: PAGE, after: result.pageInfo.endCursor }).toPromise();
      assert.equal(next.error, undefined, String(next.error));
      result = next.data.orders;
      pages.push(result.edges.length - before);
    }
    return { ids: ids(result.edges), pages, pageInfo: result.pageInfo };
  });

  await check('graphcacheBackward', async () => {
    const plain = defaultClient({ Authorization: `Bearer ${token}` }, []);
    const all = (await plain.query(gql`{ orders(first: 100) { edges { cursor } } }`, {}).toPromise()).data.orders.edges;
    assert.ok(all.length >= 30 && all.length < 100, `seed 30..99 orders first, found ${all.length}`);
    // Start among the oldest, sized so that the newest page holds 5 of 7 (see apollo.mjs).
    const tail = 3 + ((((all.length - 8) % PAGE) + PAGE) % PAGE);
    const client = createUrqlClient({ url, token });
    let result = (await client.query(ORDERS, { first: tail, after: all[all.length - tail - 1].cursor }).toPromise()).data.orders;
    const pages = [result.edges.length];
    // graphcache's relayPagination takes `hasPreviousPage` only from a `before` page (or one without a
    // cursor), so the walk from an `after` page starts unconditionally, at its first edge.
    do {
      const before = result.edges.length;
      const cursor = result.pageInfo.startCursor ?? result.edges[0].cursor;
      const next = await client.query(ORDERS, { last: PAGE, before: cursor }).toPromise();
      assert.equal(next.error, undefined, String(next.error));
      result = next.data.orders;
      pages.push(result.edges.length - before);
    } while (result.pageInfo.hasPreviousPage);
    return { ids: ids(result.edges), pages, pageInfo: result.pageInfo };
  });
} else {
  await check('readmeClientWithoutToken', async () => {
    const log = [];
    const client = createUrqlClient({ url, fetch: recordingFetch(log) });
    const result = await client.query(ORDERS, { first: 2 }).toPromise();
    assert.equal(result.error, undefined, String(result.error));
    return { orders: result.data.orders.edges.length, methods: log.map((r) => r.method) };
  });
}

finish();
