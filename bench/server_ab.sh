#!/usr/bin/env bash
# Same-run A/B of the ASGI server stack (docs/performance.md): the gateway served by
#   fast   uvicorn + GatewayHttpProtocol, /graphql dispatched by Admission (what we ship)
#   router the same through FastAPI's router
#   plain  uvicorn's stock httptools protocol (no deadlines), fast path
#   granian granian 2.x (Rust HTTP server, ASGI, uvloop), fast path (needs `pip install granian`)
# each pinned to SUT_CPU, in front of the bench's Node stub (DELAY ms, default 0), measured with
# wrk at CONC connections, alternating variants within each of ROUNDS rounds; prints req/s and
# CPU ms per request per round, then the medians. Stops what it started, by PID.
#   bash bench/server_ab.sh            VARIANTS="fast router plain granian" ROUNDS=3 DURATION=8
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
VARIANTS=${VARIANTS:-"fast router plain granian"}
ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-8} CONC=${CONC:-32} DELAY=${DELAY:-0}
SUT_CPU=${SUT_CPU:-1} LOAD_CPU=${LOAD_CPU:-0} PORT0=${PORT0:-4620}
KEY=pk_bench_0123456789abcdef
OUT=${OUT:-/tmp/gateway-server-ab/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
taskset -c "$LOAD_CPU" node "$HERE/stub/server.js" "$PORT0" >"$OUT/stub.log" 2>&1 & PIDS+=($!)
"$PYTHON" "$HERE/report.py" body "$HERE/queries/full.graphql" "$HERE/queries/variables.json" >"$OUT/full.json"
sleep 0.5
curl -s -XPOST "http://127.0.0.1:$PORT0/__delay/$DELAY" >/dev/null
declare -A PORT PID
i=1
for v in $VARIANTS; do
  PORT[$v]=$((PORT0 + i)); i=$((i + 1))
  envs=(GATEWAY_MEDUSA_URL="http://127.0.0.1:$PORT0" GATEWAY_PUBLISHABLE_KEY=$KEY
        GATEWAY_HOST=127.0.0.1 GATEWAY_PORT="${PORT[$v]}" GATEWAY_BACKEND_PROFILE=open GATEWAY_LOG_LEVEL=warning)
  if [ "$v" = granian ]; then
    (cd "$ROOT" && exec env "${envs[@]}" taskset -c "$SUT_CPU" "$(dirname "$PYTHON")/granian" \
      --interface asgi --loop uvloop --host 127.0.0.1 --port "${PORT[$v]}" --workers 1 --no-ws \
      --log-level warning --factory gateway.cli:app_from_environment) >"$OUT/$v.log" 2>&1 &
  else
    (cd "$ROOT" && exec env "${envs[@]}" taskset -c "$SUT_CPU" "$PYTHON" "$HERE/server_ab.py" "$v") >"$OUT/$v.log" 2>&1 &
  fi
  PID[$v]=$!; PIDS+=($!)
done
for v in $VARIANTS; do
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:${PORT[$v]}/healthz" >/dev/null && break; sleep 0.2; done
done
cpu() { ps -o cputimes= -p "$1" 2>/dev/null | awk '{s+=$1} END {print s}'; }
ticks() { local t=0 p; for p in "$1" $(pgrep -P "$1" || true); do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo $t; }
echo "variant round req/s cpu_ms_per_req p50_ms p99_ms non2xx" | tee "$OUT/results.txt"
for r in $(seq "$ROUNDS"); do
  for v in $VARIANTS; do
    url=http://127.0.0.1:${PORT[$v]}/graphql
    WRK_LABEL=$v taskset -c "$LOAD_CPU" wrk -t1 -c"$CONC" -d2s -s "$HERE/post.lua" "$url" -- "$OUT/full.json" "x-publishable-api-key: $KEY" >/dev/null 2>&1 || true
    t0=$(ticks "${PID[$v]}")
    line=$(WRK_LABEL=$v taskset -c "$LOAD_CPU" wrk -t1 -c"$CONC" -d"${DURATION}s" --timeout 10s -s "$HERE/post.lua" "$url" -- "$OUT/full.json" "x-publishable-api-key: $KEY" | grep RESULT)
    t1=$(ticks "${PID[$v]}")
    "$PYTHON" - "$v" "$r" "$t0" "$t1" "$line" <<'PY' | tee -a "$OUT/results.txt"
import json, os, sys
v, r, t0, t1, line = sys.argv[1:]
d = json.loads(line.split(" ", 1)[1])
cpu_ms = (int(t1) - int(t0)) * 1000 / os.sysconf("SC_CLK_TCK")
print(v, r, round(d["rps"], 1), round(cpu_ms / max(d["requests"], 1), 3), d["p50_ms"], d["p99_ms"], d["err_status"])
PY
  done
done
"$PYTHON" - "$OUT/results.txt" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]).read().splitlines()[1:]]
print("\nmedians: variant req/s cpu_ms_per_req")
for v in dict.fromkeys(r[0] for r in rows):
    mine = [r for r in rows if r[0] == v]
    print(v, statistics.median(float(r[2]) for r in mine), statistics.median(float(r[3]) for r in mine))
PY
echo "raw: $OUT"
