// graphql-request against the gateway: `node graphql-request.mjs GRAPHQL_URL`.
// Checks: a plain request; batchRequests (one HTTP request carrying a JSON array); a document holding a
// query and a mutation, sent as graphql-request sends it (no operationName: refused, nothing runs) and with
// the operationName added by a request middleware (runs only the named operation).
import assert from 'node:assert/strict';
import { ClientError, GraphQLClient, gql } from 'graphql-request';
import { check, finish, recordingFetch } from './harness.mjs';

const url = process.argv[2];

// The README's shape: a mutation and a query in one document.
const TWO_OPERATIONS = gql`
  mutation Buy {
    placeOrder(input: { amountKg: 25, description: "graphql-request" }) { order { id } userErrors { code } }
  }

  query Orders {
    orders(first: 100) { edges { node { id } } }
  }
`;
const COUNT = gql`query Count { orders(first: 100) { edges { node { id } } } }`;

const count = async (client) => (await client.request(COUNT)).orders.edges.length;

await check('request', async () => {
  const data = await new GraphQLClient(url).request(gql`query One($n: Int!) { orders(first: $n) { edges { node { id } } } }`, { n: 2 });
  return data.orders.edges.length;
});

await check('batchRequests', async () => {
  const log = [];
  const client = new GraphQLClient(url, { fetch: recordingFetch(log) });
  const results = await client.batchRequests([
    { document: COUNT },
    { document: gql`query Portfolios { portfolios { id } }` },
    { document: gql`query Page($n: Int!) { orders(first: $n) { edges { node { id } } } }`, variables: { n: 1 } },
  ]);
  const body = JSON.parse(log[0].body);
  return {
    requests: log.length,
    sent: Array.isArray(body) ? body.length : null,
    counts: [results[0].data.orders.edges.length > 0, results[1].data.portfolios.length > 0, results[2].data.orders.edges.length],
  };
});

await check('multiOperationWithoutName', async () => {
  const client = new GraphQLClient(url, { headers: { accept: 'application/graphql-response+json' } });
  const before = await count(client);
  const refused = await client.request(TWO_OPERATIONS).then(() => null, (e) => e);
  assert.ok(refused instanceof ClientError, String(refused));
  const after = await count(client);
  return {
    status: refused.response.status,
    codes: refused.response.errors.map((e) => e.extensions?.code),
    hasData: 'data' in refused.response && refused.response.data !== undefined,
    placed: after - before,
  };
});

await check('multiOperationWithName', async () => {
  const named = (operationName) => (request) => ({ ...request, body: JSON.stringify({ ...JSON.parse(request.body), operationName }) });
  const plain = new GraphQLClient(url);
  const before = await count(plain);
  const orders = await new GraphQLClient(url, { requestMiddleware: named('Orders') }).request(TWO_OPERATIONS);
  const afterQuery = await count(plain);
  const bought = await new GraphQLClient(url, { requestMiddleware: named('Buy') }).request(TWO_OPERATIONS);
  return {
    queried: orders.orders.edges.length === before,
    placedByQuery: afterQuery - before,
    bought: bought.placeOrder.userErrors,
    placedByMutation: (await count(plain)) - afterQuery,
  };
});

finish();
