// Apollo Gateway (npm @apollo/gateway) in front of two subgraphs, composed at start-up by
// IntrospectAndCompose: it fetches each subgraph's `_service { sdl }` and runs Apollo's own
// composition, exactly as a platform team's gateway would.
// usage: node supergraph.cjs PORT checkout=URL payments=URL   (NODE_PATH -> node_modules)
// Prints "ready <url>" when listening, or the composition errors and exits 1.
'use strict';
const { ApolloServer } = require('@apollo/server');
const { startStandaloneServer } = require('@apollo/server/standalone');
const { ApolloGateway, IntrospectAndCompose } = require('@apollo/gateway');

const [port, ...pairs] = process.argv.slice(2);
const subgraphs = pairs.map((pair) => {
  const at = pair.indexOf('=');
  return { name: pair.slice(0, at), url: pair.slice(at + 1) };
});

async function main() {
  const gateway = new ApolloGateway({ supergraphSdl: new IntrospectAndCompose({ subgraphs }) });
  const server = new ApolloServer({ gateway });
  const { url } = await startStandaloneServer(server, {
    listen: { host: '127.0.0.1', port: Number(port) },
  });
  console.log(`ready ${url}`);
}
main().catch((error) => { console.error(String(error && error.message ? error.message : error)); process.exit(1); });
