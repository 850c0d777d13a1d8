import { Environment, Network, RecordSource, Store } from 'relay-runtime';

export function createRelayEnvironment({ url, token, fetch = globalThis.fetch }) {
  const headers = { 'Content-Type': 'application/json', Accept: 'application/graphql-response+json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  return new Environment({
    network: Network.create(async (request, variables) => {
      const body = JSON.stringify({ query: request.text, variables, operationName: request.name });
      const response = await fetch(url, { method: 'POST', headers, body });
      return response.json();
    }),
    store: new Store(new RecordSource()),
  });
}
