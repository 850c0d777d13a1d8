// Subscribes to orderUpdates with the npm graphql-ws (WebSocket) or graphql-sse (HTTP) client, unchanged,
// and prints one JSON line per event; stops after FULFILLED. Usage:
//   node client.mjs ws|sse <gateway base url> <bearer token> <order id>
// A connection the gateway closes prints {"closed": <code>}.
import { createClient as createWsClient } from "graphql-ws";
import { createClient as createSseClient } from "graphql-sse";
import WebSocket from "ws";

const [mode, base, token, orderId] = process.argv.slice(2);
const query =
  "subscription($ids: [ID!]) { orderUpdates(ids: $ids) { previousState order { id state } } }";
const authorization = `Bearer ${token}`;

function wsClient() {
  return createWsClient({
    url: base.replace(/^http/, "ws") + "/graphql",
    webSocketImpl: WebSocket,
    connectionParams: { authorization },
    retryAttempts: 0,
    on: { closed: (event) => console.log(JSON.stringify({ closed: event.code })) },
  });
}

function sseClient() {
  return createSseClient({ url: base + "/graphql", headers: { authorization }, retryAttempts: 0 });
}

const client = mode === "sse" ? sseClient() : wsClient();
try {
  for await (const result of client.iterate({ query, variables: { ids: [orderId] } })) {
    console.log(JSON.stringify(result));
    if (result.data?.orderUpdates?.order?.state === "FULFILLED") break;
  }
} catch (error) {
  console.log(JSON.stringify({ error: String(error?.code ?? error?.message ?? error) }));
} finally {
  client.dispose();
}
