// Mesh Compose: a supergraph over the sandbox's OpenAPI (run by run.py with SANDBOX_URL set).
// The caller's Authorization header is forwarded on every upstream call.
import { defineConfig } from '@graphql-mesh/compose-cli';
import { loadOpenAPISubgraph } from '@omnigraph/openapi';

const sandbox = process.env.SANDBOX_URL;
if (!sandbox) throw new Error('SANDBOX_URL is not set');

export const composeConfig = defineConfig({
  subgraphs: [
    {
      sourceHandler: loadOpenAPISubgraph('Offsets', {
        source: `${sandbox}/v1/openapi.json`,
        endpoint: `${sandbox}/v1`,
        operationHeaders: { Authorization: '{context.headers.authorization}' },
      }),
    },
  ],
});
