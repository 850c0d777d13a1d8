// graphql-http's GraphQL-over-HTTP server audit against the gateway: `node audit.mjs GRAPHQL_URL`.
// `node audit.mjs GRAPHQL_URL TOKEN`: every request carries `Authorization: Bearer TOKEN`, as a deployed
// client's would. Prints one {id, name, status, reason} per audit; test_audit.py wants every status "ok".
import { serverAudits } from 'graphql-http';
import { check, finish } from './harness.mjs';

const [url, token] = process.argv.slice(2);
const fetchFn = (input, init = {}) =>
  fetch(input, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } });

await check('audits', async () => {
  const results = [];
  for (const audit of serverAudits({ url, fetchFn })) {
    const result = await audit.fn();
    results.push({ id: audit.id, name: audit.name, status: result.status, reason: result.reason ?? null });
  }
  return results;
});

finish();
