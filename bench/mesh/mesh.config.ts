// The peer: GraphQL Mesh composes one OpenAPI subgraph (Medusa's own spec of the route) into a
// supergraph that Hive Gateway serves. bench/run.sh copies this file into the bench cache, runs
// `mesh-compose` there with OPENAPI_DOC and BACKEND_URL set, and serves the result.
import { defineConfig } from '@graphql-mesh/compose-cli';
import { loadOpenAPISubgraph } from '@omnigraph/openapi';

export const composeConfig = defineConfig({
  subgraphs: [
    {
      sourceHandler: loadOpenAPISubgraph('Medusa', {
        source: process.env.OPENAPI_DOC!,
        endpoint: process.env.BACKEND_URL!,
      }),
    },
  ],
});
