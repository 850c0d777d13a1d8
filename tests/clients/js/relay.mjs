// Relay (relay-runtime, no React) against the gateway: `node relay.mjs GRAPHQL_URL ARTIFACT_DIR`.
// ARTIFACT_DIR holds what relay-compiler made of relay/operations.js over schema.graphql (test_relay.py
// compiles it at test time). loadNext/loadPrevious follow react-relay's usePaginationFragment: the same
// relay-runtime helpers compute the variables of the generated @refetchable pagination query, whose
// result the connection handler merges into the store; the fragment is then read back from the store.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  ConnectionHandler,
  commitMutation,
  createOperationDescriptor,
  fetchQuery,
  getPaginationMetadata,
  getPaginationVariables,
  getSelector,
  getValueAtPath,
} from 'relay-runtime';
import { check, finish } from './harness.mjs';
import { createRelayEnvironment } from './readme/relay.mjs';

const [url, artifacts] = process.argv.slice(2);
const PAGE = 7;
const load = async (name) => (await import(pathToFileURL(join(artifacts, `${name}.graphql.js`)).href)).default;
const [OrdersListQuery, OrdersListFragment, PlaceMutation, SubaccountCardQuery, SubaccountCardFragment, SubaccountRefetch] =
  await Promise.all(
    ['OrdersListQuery', 'OrdersList_query', 'OrdersListPlaceMutation', 'SubaccountCardQuery', 'SubaccountCard_subaccount', 'SubaccountCardRefetchQuery'].map(load),
  );

// Run a query, keep its data in the store, and return the fragment reference its root holds.
async function root(environment, query, variables) {
  await fetchQuery(environment, query, variables).toPromise();
  const operation = createOperationDescriptor(query, variables);
  environment.retain(operation);
  return environment.lookup(operation.fragment).data;
}

// A paginated fragment: read() its data, loadNext(n) / loadPrevious(n) as usePaginationFragment does.
function paginated(environment, fragment, ref) {
  const selector = getSelector(fragment, ref);
  const { paginationRequest, paginationMetadata, connectionPathInFragmentData } = getPaginationMetadata(fragment, 'OrdersList');
  const read = () => environment.lookup(selector).data;
  const connection = () => getValueAtPath(read(), connectionPathInFragmentData);
  async function more(direction, count) {
    const { pageInfo } = connection();
    const cursor = direction === 'forward' ? pageInfo.endCursor : pageInfo.startCursor;
    const base = { ...selector.owner.variables, ...selector.variables };
    const variables = getPaginationVariables(direction, count, cursor, base, {}, paginationMetadata);
    await fetchQuery(environment, paginationRequest, variables, { networkCacheConfig: { force: true } }).toPromise();
    return connection().edges.length;
  }
  return {
    connection,
    hasNext: () => connection().pageInfo.hasNextPage,
    hasPrevious: () => connection().pageInfo.hasPreviousPage,
    loadNext: (count) => more('forward', count),
    loadPrevious: (count) => more('backward', count),
  };
}

const ids = (connection) => connection.edges.map((edge) => edge.node.id);

await check('loadNext', async () => {
  const environment = createRelayEnvironment({ url });
  const list = paginated(environment, OrdersListFragment, await root(environment, OrdersListQuery, { first: PAGE }));
  const pages = [list.connection().edges.length];
  while (list.hasNext()) {
    const before = list.connection().edges.length;
    pages.push((await list.loadNext(PAGE)) - before);
  }
  const { pageInfo } = list.connection();
  return { ids: ids(list.connection()), pages, hasNextPage: pageInfo.hasNextPage, hasPreviousPage: pageInfo.hasPreviousPage };
});

await check('loadPreviousThenPrependNode', async () => {
  const environment = createRelayEnvironment({ url });
  const all = await root(environment, OrdersListQuery, { first: 100 });
  const edges = paginated(environment, OrdersListFragment, all).connection().edges;
  assert.ok(edges.length >= 30 && edges.length < 100, `seed 30..99 orders first, found ${edges.length}`);
  // A fresh store; start among the oldest, sized so that the newest page holds 5 of 7 (see apollo.mjs).
  const fresh = createRelayEnvironment({ url });
  const tail = 3 + ((((edges.length - 8) % PAGE) + PAGE) % PAGE);
  const cursorQuery = await cursorBefore(tail);
  const list = paginated(fresh, OrdersListFragment, await root(fresh, OrdersListQuery, { first: tail, after: cursorQuery }));
  const pages = [list.connection().edges.length];
  assert.equal(list.hasNext(), false);
  while (list.hasPrevious()) {
    const before = list.connection().edges.length;
    pages.push((await list.loadPrevious(PAGE)) - before);
  }
  const paged = ids(list.connection());
  // @prependNode: the new order goes to the front of the connection the store already holds.
  const connectionId = list.connection().__id;
  assert.equal(connectionId, ConnectionHandler.getConnectionID('client:root', 'OrdersList_orders'));
  const placed = await new Promise((resolve, reject) =>
    commitMutation(fresh, {
      mutation: PlaceMutation,
      variables: { input: { amountKg: 4, description: 'relay' }, connections: [connectionId] },
      onCompleted: resolve,
      onError: reject,
    }),
  );
  return {
    ids: paged,
    pages,
    hasPreviousPage: list.hasPrevious(),
    hasNextPage: list.hasNext(),
    placedId: placed.placeOrder.order.id,
    afterPrepend: ids(list.connection()).slice(0, 2),
    lengthAfterPrepend: list.connection().edges.length,
  };
});

// The cursor just newer than the last `tail` orders, from a plain request.
async function cursorBefore(tail) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ query: '{ orders(first: 100) { edges { cursor } } }' }),
  });
  const edges = (await response.json()).data.orders.edges;
  return edges[edges.length - tail - 1].cursor;
}

await check('refetchableNode', async () => {
  const created = await (await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ query: 'mutation { createSubaccount(input: {name: "Relay"}) { subaccount { id } } }' }),
  })).json();
  const id = created.data.createSubaccount.subaccount.id;
  const environment = createRelayEnvironment({ url });
  const data = await root(environment, SubaccountCardQuery, { id });
  const selector = getSelector(SubaccountCardFragment, data.subaccount);
  const before = environment.lookup(selector).data.name;
  await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      query: 'mutation ($id: ID!) { updateSubaccount(input: {id: $id, name: "Relay renamed"}) { userErrors { code } } }',
      variables: { id },
    }),
  });
  // The generated refetch query asks `node(id:)` for the fragment again; the store updates the record.
  await fetchQuery(environment, SubaccountRefetch, { id }).toPromise();
  return { before, after: environment.lookup(selector).data.name, refetchText: SubaccountRefetch.params.text.includes('node(id: $id)') };
});

finish();
