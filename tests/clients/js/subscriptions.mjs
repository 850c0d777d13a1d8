// Subscriptions through the README's Apollo Client (split HttpLink + GraphQLWsLink) and urql
// (subscriptionExchange over graphql-ws) set-ups: `node subscriptions.mjs GRAPHQL_URL TOKEN`.
// Each check places an order over HTTP (a mutation), subscribes to orderUpdates(ids: [id]) over the
// WebSocket until FULFILLED, and reads the order back from the client's normalised cache, before and after.
import assert from 'node:assert/strict';
import { gql } from '@apollo/client';
import WebSocket from 'ws';
import { check, finish } from './harness.mjs';
import { createApolloSubscriptionClient } from './readme/apollo-subscriptions.mjs';
import { createUrqlSubscriptionClient } from './readme/urql-subscriptions.mjs';

const [url, token] = process.argv.slice(2);
const TIMEOUT_MS = 20000;

const PLACE = gql`
  mutation Place($input: PlaceOrderInput!) {
    placeOrder(input: $input) { order { id state amountKg } userErrors { code } }
  }
`;
const UPDATES = gql`
  subscription Updates($ids: [ID!]) { orderUpdates(ids: $ids) { previousState order { id state amountKg } } }
`;
const ORDER_FIELDS = gql`
  fragment OrderFields on Order { id state amountKg }
`;
const ORDER = gql`
  query Order($id: ID!) { order(id: $id) { id state amountKg } }
`;

// Subscribes with `start(onEvent, onError)` (returns a stop function) until FULFILLED; the events' updates.
function untilFulfilled(start) {
  return new Promise((resolve, reject) => {
    const updates = [];
    const timer = setTimeout(() => done(new Error(`no FULFILLED within ${TIMEOUT_MS} ms: ${JSON.stringify(updates)}`)), TIMEOUT_MS);
    let stop = null;
    let finished = false;
    const done = (error) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      queueMicrotask(() => stop?.());
      error ? reject(error) : resolve(updates);
    };
    stop = start(
      (update) => {
        updates.push(update);
        if (update.order.state === 'FULFILLED') done();
      },
      (error) => done(error instanceof Error ? error : new Error(JSON.stringify(error))),
    );
  });
}

const summary = (updates) => updates.map((u) => [u.order.id, u.order.state, u.previousState]);

await check('apolloGraphQLWsLink', async () => {
  const client = createApolloSubscriptionClient({ uri: url, token, webSocketImpl: WebSocket });
  const placed = await client.mutate({ mutation: PLACE, variables: { input: { amountKg: 3, description: 'apollo ws' } } });
  assert.deepEqual(placed.data.placeOrder.userErrors, []);
  const { id } = placed.data.placeOrder.order;
  const cacheId = client.cache.identify({ __typename: 'Order', id });
  const read = () => client.readFragment({ id: cacheId, fragment: ORDER_FIELDS });
  const before = read();
  const updates = await untilFulfilled((next, error) => {
    const subscription = client.subscribe({ query: UPDATES, variables: { ids: [id] } }).subscribe({
      next: (result) => (result.error ? error(result.error) : next(result.data.orderUpdates)),
      error,
    });
    return () => subscription.unsubscribe();
  });
  return {
    id,
    cacheId,
    before,
    updates: summary(updates),
    typenames: [...new Set(updates.map((u) => u.order.__typename))],
    after: read(),
  };
});

await check('urqlSubscriptionExchange', async () => {
  const client = createUrqlSubscriptionClient({ url, token, webSocketImpl: WebSocket });
  const placed = await client.mutation(PLACE, { input: { amountKg: 4, description: 'urql ws' } }).toPromise();
  assert.equal(placed.error, undefined, String(placed.error));
  const { id } = placed.data.placeOrder.order;
  const read = () => client.readQuery(ORDER, { id }, { requestPolicy: 'cache-only' })?.data?.order ?? null;
  const before = read();
  const updates = await untilFulfilled((next, error) => {
    const subscription = client.subscription(UPDATES, { ids: [id] }).subscribe((result) =>
      result.error ? error(result.error) : next(result.data.orderUpdates),
    );
    return () => subscription.unsubscribe();
  });
  return { id, before, updates: summary(updates), after: read() };
});

finish();
setTimeout(() => process.exit(), 2000).unref();
