// A small second subgraph for the supergraph test: a Node Apollo Server "checkout" service
// that owns Cart { id total region }, Query.cart(id) and Query.carts(ids), built with Apollo's own
// @apollo/subgraph. usage: CARTS='{"cart_1": {"total": 25, "region": "reg_1"}}' \
//   node checkout.cjs PORT   (NODE_PATH -> node_modules). Prints "ready <url>" when listening.
'use strict';
const { ApolloServer } = require('@apollo/server');
const { startStandaloneServer } = require('@apollo/server/standalone');
const { buildSubgraphSchema } = require('@apollo/subgraph');
const { parse } = require('graphql');

const carts = JSON.parse(process.env.CARTS || '{}');
const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Cart @key(fields: "id") { id: ID! total: Float! region: Region! }
  type Region @key(fields: "id") { id: ID! }
  type Query { cart(id: ID!): Cart carts(ids: [ID!]!): [Cart]! }
`);
const toCart = (id) => (carts[id] ? { id, total: carts[id].total, region: { id: carts[id].region } } : null);
const resolvers = {
  Query: { cart: (_, { id }) => toCart(id), carts: (_, { ids }) => ids.map(toCart) },
  Cart: { __resolveReference: (ref) => toCart(ref.id) },
};

async function main() {
  const server = new ApolloServer({ schema: buildSubgraphSchema({ typeDefs, resolvers }) });
  const { url } = await startStandaloneServer(server, {
    listen: { host: '127.0.0.1', port: Number(process.argv[2]) },
  });
  console.log(`ready ${url}`);
}
main().catch((error) => { console.error(error); process.exit(1); });
