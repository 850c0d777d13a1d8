// Apollo Client (current major) against the gateway: `node apollo.mjs GRAPHQL_URL`.
// Checks, in order: the README's client (APQ over GET) normalising every Node type, relayStylePagination
// forwards and backwards, APQ over POST, useGETForQueries, BatchHttpLink, apollo-upload-client, errors.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ApolloClient, CombinedGraphQLErrors, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { BatchHttpLink } from '@apollo/client/link/batch-http';
import { createPersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { relayStylePagination } from '@apollo/client/utilities';
import UploadHttpLink from 'apollo-upload-client/UploadHttpLink.mjs';
import { buildSchema } from 'graphql';
import { check, finish, recordingFetch } from './harness.mjs';
import { createApolloClient } from './readme/apollo.mjs';

const uri = process.argv[2];
const PAGE = 7;

const SETUP = gql`
  mutation Setup($sub: CreateSubaccountInput!) {
    createSubaccount(input: $sub) { subaccount { id upstreamId name } userErrors { code message } }
  }
`;
const ORDER_IN = gql`
  mutation OrderIn($input: PlaceOrderInput!) {
    placeOrder(input: $input) { order { id state } userErrors { code field message } }
  }
`;
const CHECKOUT = gql`
  mutation Checkout($input: CreateCheckoutSessionInput!) {
    createCheckoutSession(input: $input) { checkoutSession { id state } userErrors { code message } }
  }
`;
const EVERY_NODE = gql`
  query EveryNode($sub: ID!, $session: ID!) {
    portfolios { id name categoryAllocations { category { id name projects { id name } } } }
    subaccount(id: $sub) { id name orders(first: 5) { edges { node { id state amountKg } } } }
    checkoutSession(id: $session) { id state checkoutUrl }
  }
`;
const NODE_STATE = gql`
  query NodeState($id: ID!) { node(id: $id) { id ... on Subaccount { name } } }
`;
const ORDERS = gql`
  query Orders($first: Int, $after: String, $last: Int, $before: String) {
    orders(first: $first, after: $after, last: $last, before: $before) {
      edges { cursor node { id amountKg } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
`;
const ORDER_IDS = gql`query OrderIds($n: Int!) { orders(first: $n) { edges { cursor node { id } } } }`;

const ids = (edges) => edges.map((edge) => edge.node.id);

function paginatingClient() {
  const typePolicies = { Query: { fields: { orders: relayStylePagination(['subaccountId']) } } };
  return new ApolloClient({ link: new HttpLink({ uri }), cache: new InMemoryCache({ typePolicies }) });
}

// Subscribe, wait for the first complete result: an ObservableQuery ready for fetchMore.
async function watch(client, variables) {
  const query = client.watchQuery({ query: ORDERS, variables });
  await new Promise((resolve, reject) => {
    const sub = query.subscribe({
      next: (r) => r.dataState === 'complete' && (sub?.unsubscribe?.(), resolve()),
      error: reject,
    });
  });
  return query;
}

const readme = createApolloClient({ uri });

await check('readmeClientNormalisesEveryNode', async () => {
  const created = await readme.mutate({ mutation: SETUP, variables: { sub: { name: 'Apollo' } } });
  const sub = created.data.createSubaccount.subaccount;
  await readme.mutate({ mutation: ORDER_IN, variables: { input: { amountKg: 3, subaccountId: sub.id } } });
  const session = await readme.mutate({
    mutation: CHECKOUT,
    variables: { input: { amountKg: 40, successUrl: 'https://example.com/ok', cancelUrl: 'https://example.com/no' } },
  });
  const sessionId = session.data.createCheckoutSession.checkoutSession.id;
  const { data } = await readme.query({ query: EVERY_NODE, variables: { sub: sub.id, session: sessionId } });
  const cache = readme.cache.extract();
  const typenames = new Set(Object.keys(cache).filter((k) => k !== 'ROOT_QUERY' && k !== 'ROOT_MUTATION').map((k) => k.split(':')[0]));
  // The README's possibleTypes must list exactly the schema's Node types.
  const schema = buildSchema(readFileSync(new URL('../../../schema.graphql', import.meta.url), 'utf8'));
  const nodeTypes = schema.getPossibleTypes(schema.getType('Node')).map((t) => t.name).sort();
  assert.deepEqual([...typenames].sort(), nodeTypes);
  const onNode = gql`fragment AnyNode on Node { id }`.definitions[0];
  const matchingNode = [...nodeTypes, 'PageInfo'].filter((t) => readme.cache.policies.fragmentMatches(onNode, t));
  // One entity per object: a rename read through `node` shows up in the earlier query's result.
  const order = data.subaccount.orders.edges[0].node;
  assert.equal(cache[`Order:${order.id}`].id, order.id);
  await readme.mutate({
    mutation: gql`mutation Rename($input: UpdateSubaccountInput!) { updateSubaccount(input: $input) { subaccount { id name } } }`,
    variables: { input: { id: sub.id, name: 'Apollo renamed' } },
  });
  const again = readme.readQuery({ query: EVERY_NODE, variables: { sub: sub.id, session: sessionId } });
  const viaNode = await readme.query({ query: NODE_STATE, variables: { id: sub.id } });
  return {
    typenames: [...typenames].sort(),
    schemaNodeTypes: nodeTypes,
    possibleTypesOfNode: matchingNode.sort(),
    renamedInEarlierQuery: again.subaccount.name,
    viaNode: viaNode.data.node,
    subaccountId: sub.id,
  };
});

await check('forwardPagination', async () => {
  const query = await watch(paginatingClient(), { first: PAGE });
  const pages = [];
  let result = query.getCurrentResult().data.orders;
  pages.push(result.edges.length);
  while (result.pageInfo.hasNextPage) {
    const more = await query.fetchMore({ variables: { after: result.pageInfo.endCursor } });
    pages.push(more.data.orders.edges.length);
    result = query.getCurrentResult().data.orders;
  }
  query.stopPolling?.();
  return { ids: ids(result.edges), pages, pageInfo: result.pageInfo };
});

await check('backwardPagination', async () => {
  // Start at the oldest end (the last few orders, found with a plain client), then page towards the newest.
  // The window is sized so that the newest page is short but more than half full (5 of 7): the case that
  // once lost orders.
  const all = await new ApolloClient({ link: new HttpLink({ uri }), cache: new InMemoryCache() }).query({ query: ORDER_IDS, variables: { n: 100 } });
  const edges = all.data.orders.edges;
  assert.ok(edges.length >= 30 && edges.length < 100, `seed 30..99 orders first, found ${edges.length}`);
  const tail = 3 + ((((edges.length - 8) % PAGE) + PAGE) % PAGE);
  const query = await watch(paginatingClient(), { first: tail, after: edges[edges.length - tail - 1].cursor });
  let result = query.getCurrentResult().data.orders;
  const pages = [result.edges.length];
  assert.equal(result.pageInfo.hasNextPage, false);
  while (result.pageInfo.hasPreviousPage) {
    const more = await query.fetchMore({ variables: { first: null, after: null, last: PAGE, before: result.pageInfo.startCursor } });
    pages.push(more.data.orders.edges.length);
    result = query.getCurrentResult().data.orders;
  }
  return { ids: ids(result.edges), pages, pageInfo: result.pageInfo };
});

// Each APQ check sends its own document, so that each starts with a miss (the hash not yet stored).
async function apq(name, options) {
  const query = gql(`query ${name}($n: Int!) { orders(first: $n) { edges { cursor node { id } } } }`);
  const log = [];
  const link = createPersistedQueryLink({ sha256, ...options }).concat(new HttpLink({ uri, fetch: recordingFetch(log) }));
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  const first = await client.query({ query, variables: { n: 2 }, fetchPolicy: 'network-only' });
  const second = await client.query({ query, variables: { n: 2 }, fetchPolicy: 'network-only' });
  assert.deepEqual(second.data, first.data);
  return log.map(describe);
}

async function sha256(text) {
  const { createHash } = await import('node:crypto');
  return createHash('sha256').update(text).digest('hex');
}

// What the server was sent: method, whether the query text and the hash rode along, the content type.
function describe(request) {
  const url = new URL(request.url, 'http://x');
  const body = request.body && request.body !== '<binary>' ? JSON.parse(request.body) : {};
  const extensions = body.extensions ?? JSON.parse(url.searchParams.get('extensions') ?? '{}');
  return {
    method: request.method,
    hasQuery: Boolean(body.query ?? url.searchParams.get('query')),
    hasHash: Boolean(extensions.persistedQuery?.sha256Hash),
    contentType: request.headers['content-type'] ?? null,
    batch: Array.isArray(body) ? body.length : null,
  };
}

await check('apqOverPost', () => apq('ApqPost', {}));
await check('apqOverGet', () => apq('ApqGet', { useGETForHashedQueries: true }));
await check('readmeClientUsesGetForHashedQueries', async () => {
  const log = [];
  const client = createApolloClient({ uri, fetch: recordingFetch(log) });
  const query = gql`query ReadmeApq { portfolios { id name } }`;
  const { data } = await client.query({ query });
  assert.ok(data.portfolios.length > 0);
  return log.map(describe);
});

await check('useGETForQueries', async () => {
  const log = [];
  const link = new HttpLink({ uri, useGETForQueries: true, fetch: recordingFetch(log) });
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  const { data } = await client.query({ query: ORDER_IDS, variables: { n: 2 } });
  const placed = await client.mutate({ mutation: ORDER_IN, variables: { input: { amountKg: 1, description: 'GET mode' } } });
  return { orders: data.orders.edges.length, placed: placed.data.placeOrder.userErrors, requests: log.map(describe) };
});

await check('batchHttpLink', async () => {
  const log = [];
  const link = new BatchHttpLink({ uri, batchMax: 10, batchInterval: 20, fetch: recordingFetch(log) });
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  const [a, b, c] = await Promise.all([
    client.query({ query: ORDER_IDS, variables: { n: 1 } }),
    client.query({ query: ORDER_IDS, variables: { n: 2 } }),
    client.query({ query: gql`query Portfolios { portfolios { id name } }` }),
  ]);
  return { sizes: [a.data.orders.edges.length, b.data.orders.edges.length], portfolios: c.data.portfolios.length, requests: log.map(describe) };
});

// A 1x1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

await check('uploadLogo', async () => {
  const log = [];
  // Multipart is a "simple" request a browser may send cross-site: the preflight header proves it is not forged.
  const link = new UploadHttpLink({ uri, headers: { 'Apollo-Require-Preflight': 'true' }, fetch: recordingFetch(log) });
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  const sub = await client.mutate({ mutation: SETUP, variables: { sub: { name: 'Logo' } } });
  const id = sub.data.createSubaccount.subaccount.id;
  const { data } = await client.mutate({
    mutation: gql`mutation Logo($input: SetSubaccountLogoInput!) {
      setSubaccountLogo(input: $input) { subaccount { id logoUrl } userErrors { code field message } }
    }`,
    variables: { input: { id, file: new File([PNG], 'logo.png', { type: 'image/png' }) } },
  });
  return { payload: data.setSubaccountLogo, contentType: log.at(-1).headers['content-type'] ?? null, body: log.at(-1).body };
});

await check('errors', async () => {
  const client = new ApolloClient({ link: new HttpLink({ uri }), cache: new InMemoryCache() });
  // An expected failure is data: userErrors with a stable code and the input field, no `error`.
  const refused = await client.mutate({ mutation: ORDER_IN, variables: { input: { amountKg: -5 } } });
  assert.equal(refused.error, undefined);
  // An unexpected one is errors[] with extensions.code: thrown by default, returned with errorPolicy 'all'.
  const missing = gql`query Missing($id: ID!) { order(id: $id) { id } }`;
  const thrown = await client.query({ query: missing, variables: { id: 'ord_missing' } }).then(() => null, (e) => e);
  assert.ok(CombinedGraphQLErrors.is(thrown), String(thrown));
  const all = await client.query({ query: missing, variables: { id: 'ord_missing' }, errorPolicy: 'all', fetchPolicy: 'network-only' });
  const invalid = await client.query({ query: gql`query Invalid { orders(first: 1) { nope } }` }).then(() => null, (e) => e);
  assert.ok(CombinedGraphQLErrors.is(invalid), String(invalid));
  return {
    userErrors: refused.data.placeOrder.userErrors,
    thrownCodes: thrown.errors.map((e) => e.extensions?.code),
    partialData: all.data,
    errorPolicyAllCodes: all.error.errors.map((e) => e.extensions?.code),
    requestErrorCodes: invalid.errors.map((e) => e.extensions?.code),
  };
});

finish();
