// Compose subgraph SDL files with Apollo's own composition library (npm @apollo/composition).
// usage: node compose.cjs NAME=FILE.graphql [NAME=FILE.graphql ...]   (NODE_PATH -> node_modules)
// Prints {"ok": true, "supergraph": "..."} or {"ok": false, "errors": [...]} on stdout.
'use strict';
const fs = require('fs');
const { parse } = require('graphql');
const { composeServices } = require('@apollo/composition');

const services = process.argv.slice(2).map((arg) => {
  const [name, file] = arg.split('=');
  return { name, url: `http://${name}.invalid/graphql`, typeDefs: parse(fs.readFileSync(file, 'utf8')) };
});
const result = composeServices(services);
if (result.errors && result.errors.length) {
  console.log(JSON.stringify({ ok: false, errors: result.errors.map((e) => e.message) }));
} else {
  console.log(JSON.stringify({ ok: true, supergraph: result.supergraphSdl }));
}
