#!/usr/bin/env bash
# Installs what bench/run.sh needs outside the Python venv, idempotently:
#   wrk (apt, when missing) and, unless `--no-peer`, the peer's npm packages (GraphQL Mesh
#   compose CLI, its OpenAPI loader, Hive Gateway; pinned in bench/mesh/package.json) into the
#   bench cache, $BENCH_CACHE [/var/tmp/medusa-graphql-gateway/bench]/peer. Never into the repo.
#   bash bench/install.sh [--no-peer]
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${BENCH_CACHE:-/var/tmp/medusa-graphql-gateway/bench}

if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk (apt)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
fi
[ "${1:-}" = --no-peer ] && exit 0

command -v npm >/dev/null || { echo "npm (Node.js 20+) is required for the peer" >&2; exit 1; }
PEER=$CACHE/peer
STAMP=$PEER/.installed-$(sha256sum "$HERE/mesh/package.json" | cut -c1-16)
if [ ! -e "$STAMP" ]; then
  echo "installing the peer (npm: Mesh compose CLI, @omnigraph/openapi, Hive Gateway) into $PEER"
  mkdir -p "$PEER"
  rm -f "$PEER"/.installed-*
  cp "$HERE/mesh/package.json" "$PEER/package.json"
  (cd "$PEER" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
  touch "$STAMP"
fi
