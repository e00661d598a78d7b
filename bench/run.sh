#!/usr/bin/env bash
# Measure the gateway against a direct REST call to the same stub, side by side, in one run.
#   bash bench/run.sh                      (DURATION=10 WARMUP=3 CONCURRENCIES="1 32" ROUNDS=1)
# The system under test (direct stub or gateway) runs alone on CPU 1; wrk and the backend
# stub share CPU 0. Writes raw results and a markdown table to $OUT (printed at the end).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
DURATION="${DURATION:-10}"; WARMUP="${WARMUP:-3}"; ROUNDS="${ROUNDS:-1}"
CONCURRENCIES="${CONCURRENCIES:-1 32}"
OUT="${OUT:-/tmp/gateway-bench/$(date +%Y%m%d-%H%M%S)}"
PYTHON="${PYTHON:-python}"
BACKEND_PORT=4510; DIRECT_PORT=4511; GATEWAY_PORT=4520
mkdir -p "$OUT"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v node >/dev/null || { echo "node is required for the stub" >&2; exit 1; }

PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

taskset -c 0 node "$HERE/stub/server.js" "$BACKEND_PORT" >"$OUT/stub-backend.log" 2>&1 & PIDS+=($!)
taskset -c 1 node "$HERE/stub/server.js" "$DIRECT_PORT" >"$OUT/stub-direct.log" 2>&1 & PIDS+=($!)
(cd "$ROOT" && GATEWAY_MEDUSA_URL="http://127.0.0.1:$BACKEND_PORT" GATEWAY_PUBLISHABLE_KEY=pk_bench \
  GATEWAY_PORT="$GATEWAY_PORT" GATEWAY_BACKEND_PROFILE=open GATEWAY_LOG_LEVEL=warning \
  exec taskset -c 1 "$PYTHON" -m gateway >"$OUT/gateway.log" 2>&1) & GATEWAY_PID=$!; PIDS+=("$GATEWAY_PID")
for _ in $(seq 1 50); do curl -fsS -m 1 "http://127.0.0.1:$GATEWAY_PORT/healthz" >/dev/null 2>&1 && break; sleep 0.2; done

"$PYTHON" "$HERE/report.py" body "$HERE/queries/full.graphql" "$HERE/queries/variables.json" >"$OUT/full.json"
"$PYTHON" "$HERE/report.py" body "$HERE/queries/checkout.graphql" "$HERE/queries/variables.json" >"$OUT/checkout.json"
"$PYTHON" "$HERE/report.py" smoke "http://127.0.0.1:$GATEWAY_PORT/graphql" "$OUT/full.json" "$OUT/checkout.json"

measure() {  # label url body pid concurrency round
  local label=$1 url=$2 body=$3 pid=$4 c=$5 round=$6
  taskset -c 0 wrk -t1 -c"$c" -d"${WARMUP}s" -s "$HERE/post.lua" "$url" -- "$body" >/dev/null
  local before; before=$(awk '{print $14+$15}' "/proc/$pid/stat")
  local line; line=$(taskset -c 0 wrk -t1 -c"$c" -d"${DURATION}s" --timeout 10s -s "$HERE/post.lua" \
    "$url" -- "$body" | grep '^RESULT ' | cut -d' ' -f2-)
  local after; after=$(awk '{print $14+$15}' "/proc/$pid/stat")
  echo "{\"label\":\"$label\",\"concurrency\":$c,\"round\":$round,\"cpu_ticks\":$((after-before)),\"wrk\":$line}" >>"$OUT/results.jsonl"
}
DIRECT_PID=${PIDS[1]}
for round in $(seq 1 "$ROUNDS"); do
  for c in $CONCURRENCIES; do
    measure rest-direct "http://127.0.0.1:$DIRECT_PORT/store/payment-collections/pay_col_1/payment-sessions" \
      "$HERE/queries/rest.json" "$DIRECT_PID" "$c" "$round"
    measure gateway-full "http://127.0.0.1:$GATEWAY_PORT/graphql" "$OUT/full.json" "$GATEWAY_PID" "$c" "$round"
    measure gateway-checkout "http://127.0.0.1:$GATEWAY_PORT/graphql" "$OUT/checkout.json" "$GATEWAY_PID" "$c" "$round"
  done
done
"$PYTHON" "$HERE/report.py" table "$OUT/results.jsonl" "$(getconf CLK_TCK)" | tee "$OUT/report.md"
echo "raw results: $OUT"
