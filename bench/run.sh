#!/usr/bin/env bash
# The gateway's own benchmark, one command: installs what it needs (bench/install.sh: wrk, the
# peer's npm packages, into a cache), starts a Node stub of Medusa's payment-session route, a
# second stub for the direct REST call (the floor), our gateway with 1 and 2 workers, and the
# peer (GraphQL Mesh composed from Medusa's OpenAPI spec, served by Hive Gateway) in front of the
# same backend stub; checks every target answers correctly; measures them side by side with wrk,
# alternating targets within each round; prints a markdown report; stops what it started, by PID.
#
#   bash bench/run.sh                      # the full run (~5 min), the peer is mandatory
#   SMOKE=1 bash bench/run.sh              # CI: seconds, no thresholds, the peer only if cached
#   PYSPY=1 bash bench/run.sh              # then a py-spy profile of the gateway (README's table)
#
# Knobs (environment, defaults in brackets; SMOKE=1 changes the defaults marked *):
#   DURATION [10*]       seconds measured per target and concurrency
#   WARMUP [3*]          seconds of load before each measurement, discarded (0: none)
#   CONCURRENCIES ["1 32"*]  wrk connections (one wrk thread)
#   ROUNDS [3*]          repeat the whole matrix; the report shows medians across rounds and the
#                        median of per-round ratios
#   WORKERS ["1 2"*]     gateway targets by `--workers`; 1 worker runs on SUT_CPU alone, N>1
#                        workers on CPUs 0..N-1 (shared with wrk on a 2-core machine)
#   MESH [1*]            1: the peer is required (installed if missing); auto: used when cached;
#                        0: skipped. OPENAPI_DOC [bench/mesh/openapi/payment-sessions.yaml]
#   OUT [/tmp/gateway-bench/<timestamp>]   raw wrk output, logs, results.jsonl, report.md
#   BENCH_CACHE [/var/tmp/medusa-graphql-gateway/bench]   npm packages of the peer
#   NOISE_MAX [0.15] NOISE_RETRIES [0] NOISE_PAUSE [5]   when other processes used more than
#                        NOISE_MAX of the SUT core during a measurement, wait NOISE_PAUSE seconds
#                        and measure again (up to NOISE_RETRIES more times); the report keeps the
#                        attempt with the least such load. Off by default: on a machine that is
#                        busy all the time it only multiplies the run time
#   CURVE [1]            1: then the cost curve: the backend stub answers after CURVE_DELAY [50]
#                        ms; the 1-worker gateway and the peer, c=[CURVE_CONCURRENCIES]
#                        ["64 256 1024"*] with wrk (closed loop, CURVE_DURATION [10*] s after
#                        CURVE_WARMUP [3*] s), then bench/load.py (open loop, Retry-After
#                        honoured) at OPEN_MULTIPLIERS ["1 2 4"*] x our goodput at c=64 for
#                        OPEN_SECONDS [10*] s; goodput, p50/p99, CPU/served, RSS (bench/curve.py)
#   GQLCORE [0]          1: also measure a 1-worker gateway with GATEWAY_EXECUTOR=graphql-core
#   PYSPY [0]            1: after the matrix, profile the 1-worker gateway with py-spy under load
#                        (PYSPY_QUERY [full], PYSPY_CONCURRENCY [32], PYSPY_SECONDS [8])
#   SUT_CPU [1] LOAD_CPU [0]   every 1-process system under test on SUT_CPU; wrk, the backend
#                        stub and this script on LOAD_CPU
#   GATEWAY_EXTRA [""]   extra NAME=VALUE settings for the gateway (A/Bs of a setting), e.g.
#                        "GATEWAY_ADAPTIVE_CONCURRENCY=false GATEWAY_QUEUE_TIMEOUT=0"
#   PORTS ["4500 4599"]  free loopback ports are picked from this range
#   PYTHON [.venv/bin/python, else python3]   the interpreter that runs the gateway
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
SMOKE=${SMOKE:-0}
if [ "$SMOKE" = 1 ]; then
  DURATION=${DURATION:-1} WARMUP=${WARMUP:-0} CONCURRENCIES=${CONCURRENCIES:-"1 8"}
  ROUNDS=${ROUNDS:-1} WORKERS=${WORKERS:-"1 2"} MESH=${MESH:-auto}
  CURVE_CONCURRENCIES=${CURVE_CONCURRENCIES:-64} CURVE_DURATION=${CURVE_DURATION:-1}
  CURVE_WARMUP=${CURVE_WARMUP:-0} OPEN_MULTIPLIERS=${OPEN_MULTIPLIERS:-2} OPEN_SECONDS=${OPEN_SECONDS:-1}
fi
CURVE=${CURVE:-1}
CURVE_DELAY=${CURVE_DELAY:-50}
CURVE_CONCURRENCIES=${CURVE_CONCURRENCIES:-"64 256 1024"}
CURVE_DURATION=${CURVE_DURATION:-10}
CURVE_WARMUP=${CURVE_WARMUP:-3}
OPEN_MULTIPLIERS=${OPEN_MULTIPLIERS:-"1 2 4"}
OPEN_SECONDS=${OPEN_SECONDS:-10}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
CONCURRENCIES=${CONCURRENCIES:-"1 32"}
ROUNDS=${ROUNDS:-3}
WORKERS=${WORKERS:-"1 2"}
OUT=${OUT:-/tmp/gateway-bench/$(date +%Y%m%d-%H%M%S)}
MESH=${MESH:-1}
BENCH_CACHE=${BENCH_CACHE:-/var/tmp/medusa-graphql-gateway/bench}
PEER=$BENCH_CACHE/peer
OPENAPI_DOC=${OPENAPI_DOC:-$HERE/mesh/openapi/payment-sessions.yaml}
PYSPY=${PYSPY:-0}
NOISE_MAX=${NOISE_MAX:-0.15}
NOISE_RETRIES=${NOISE_RETRIES:-0}
NOISE_PAUSE=${NOISE_PAUSE:-5}
PYSPY_QUERY=${PYSPY_QUERY:-full}
PYSPY_CONCURRENCY=${PYSPY_CONCURRENCY:-32}
PYSPY_SECONDS=${PYSPY_SECONDS:-8}
SUT_CPU=${SUT_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
read -r PORT_LO PORT_HI <<< "${PORTS:-4500 4599}"
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON=$ROOT/.venv/bin/python; else PYTHON=python3; fi
fi
HOST=127.0.0.1
KEY=pk_bench_0123456789abcdef
COLLECTION=pay_col_01JF8ZQ4W7M3K2N9D6R5T1XAVB
CLIENT_SECRET=pi_3QNkZ2LkdIwHu7ix0Y1a2b3c_secret_Zr9XyQwErTyUiOpAsDfGhJkL  # in the stub's session data
TOOLS=("$PYTHON" "$HERE/report.py")

# ------------------------------------------------------------------ prerequisites
case $MESH in
  1) bash "$HERE/install.sh" ;;
  auto) bash "$HERE/install.sh" --no-peer
        [ -n "$(ls "$PEER"/.installed-* 2>/dev/null)" ] || MESH=0 ;;
  *) bash "$HERE/install.sh" --no-peer ;;
esac
for tool in node taskset; do
  command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }
done
"$PYTHON" -c 'import gateway' 2>/dev/null || (cd "$ROOT" && "$PYTHON" -c 'import gateway') \
  || { echo "$PYTHON cannot import the gateway (activate the venv or set PYTHON)" >&2; exit 1; }
# This script, its helpers and wrk stay on the load core; systems under test get SUT_CPU.
taskset -cp "$LOAD_CPU" $$ >/dev/null

RUN_START=$(date -Is)
# The code the gateway loads at start: commit, and files changed under gateway/ and schema/.
CODE="commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
DIRTY=$(git -C "$ROOT" status --porcelain -- gateway schema 2>/dev/null | awk '{print $2}' | xargs)
[ -z "$DIRTY" ] || CODE+=" + uncommitted changes in: $DIRTY"
CPUS=$(getconf _NPROCESSORS_ONLN)
mkdir -p "$OUT/raw" "$OUT/bodies"
RESULTS=$OUT/results.jsonl
RSS=$OUT/rss.jsonl
: > "$RESULTS"
: > "$RSS"

# ------------------------------------------------------------------ ports
TAKEN=" "
pick_port() {  # pick_port VAR: the first free loopback port of the range not yet handed out
  local p
  for ((p = PORT_LO; p <= PORT_HI; p++)); do
    [[ $TAKEN == *" $p "* ]] && continue
    if ! (exec 3<>"/dev/tcp/$HOST/$p") 2>/dev/null; then
      TAKEN+="$p "
      printf -v "$1" '%s' "$p"
      return 0
    fi
  done
  echo "no free port in $PORT_LO-$PORT_HI" >&2
  exit 1
}
pick_port P_BACKEND
pick_port P_DIRECT

# ------------------------------------------------------------------ processes (stopped by PID)
declare -a PIDS=() LABELS=()
start() {  # start LABEL CPU DIR LOG -- cmd...   (`exec` keeps $! = the server's own PID)
  local label=$1 cpu=$2 dir=$3 log=$4
  shift 5
  (cd "$dir" && exec taskset -c "$cpu" "$@") >"$log" 2>&1 &
  PIDS+=("$!")
  LABELS+=("$label")
  echo "started $label (pid $!, cpu $cpu)"
}
pid_of() {
  local i
  for i in "${!LABELS[@]}"; do [ "${LABELS[$i]}" = "$1" ] && echo "${PIDS[$i]}"; done
  return 0
}
descendants() {
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do descendants "$child"; echo "$child"; done
}
cleanup() {
  local rc=$? pid all=()
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do
    # Only a process that is still our child is ours (a reaped PID may have been reused).
    [ "$(ps -o ppid= -p "$pid" 2>/dev/null | tr -d ' ')" = "$$" ] || continue
    # shellcheck disable=SC2207  # PIDs are plain numbers
    all+=($(descendants "$pid") "$pid")
  done
  if [ ${#all[@]} -gt 0 ]; then
    kill -TERM "${all[@]}" 2>/dev/null || true
    for _ in $(seq 30); do
      local alive=0
      for pid in "${all[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
      [ $alive = 0 ] && break
      sleep 0.1
    done
    kill -KILL "${all[@]}" 2>/dev/null || true
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  fi
  echo "stopped ${#PIDS[@]} process(es) started by this run; everything is in $OUT"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ bodies and targets
cp "$HERE/queries/rest.json" "$OUT/bodies/rest.json"
"${TOOLS[@]}" body "$HERE/queries/full.graphql" "$HERE/queries/variables.json" >"$OUT/bodies/full.json"
"${TOOLS[@]}" body "$HERE/queries/checkout.graphql" "$HERE/queries/variables.json" >"$OUT/bodies/checkout.json"

BACKEND=http://$HOST:$P_BACKEND
# label|kind|url|body|process; the first target is the reference of every ratio
declare -a TARGETS=(
  "rest-direct|rest|http://$HOST:$P_DIRECT/store/payment-collections/$COLLECTION/payment-sessions|$OUT/bodies/rest.json|stub-direct"
)

# ------------------------------------------------------------------ start the servers
export NODE_ENV=production
start stub-backend "$LOAD_CPU" "$HERE" "$OUT/stub-backend.log" -- node "$HERE/stub/server.js" "$P_BACKEND"
start stub-direct "$SUT_CPU" "$HERE" "$OUT/stub-direct.log" -- node "$HERE/stub/server.js" "$P_DIRECT"

if [ "$MESH" != 0 ]; then
  # Compose the supergraph from Medusa's OpenAPI spec (endpoint = our backend stub) in the run's
  # directory; the config's imports resolve through a symlink to the cached npm install.
  pick_port P_MESH
  mkdir -p "$OUT/mesh/compose" "$OUT/mesh/serve"
  cp "$HERE/mesh/mesh.config.ts" "$PEER/package.json" "$OUT/mesh/compose/"
  ln -sfn "$PEER/node_modules" "$OUT/mesh/compose/node_modules"
  (cd "$OUT/mesh/compose" && OPENAPI_DOC=$OPENAPI_DOC BACKEND_URL=$BACKEND \
    "$PEER/node_modules/.bin/mesh-compose" -c mesh.config.ts -o "$OUT/mesh/serve/supergraph.graphql") \
    >"$OUT/mesh-compose.log" 2>&1 || { cat "$OUT/mesh-compose.log" >&2; echo "composing the peer failed" >&2; exit 1; }
  "${TOOLS[@]}" body "$HERE/queries/mesh.graphql" "$HERE/queries/mesh.variables.json" >"$OUT/bodies/mesh.json"
  # Served from a directory holding only the supergraph, so no gateway.config.* is picked up.
  start mesh-hive-gateway "$SUT_CPU" "$OUT/mesh/serve" "$OUT/mesh.log" -- \
    "$PEER/node_modules/.bin/hive-gateway" supergraph supergraph.graphql \
    --host "$HOST" --port "$P_MESH" --fork 1
  TARGETS+=("mesh-hive-gateway|graphql|http://$HOST:$P_MESH/graphql|$OUT/bodies/mesh.json|mesh-hive-gateway")
fi

# The gateway: inherited GATEWAY_* variables are dropped so every run is configured alike.
# Profile `open`: the full query selects payments, which Medusa 2.21's route does not project.
# No access log: the gateway's CLI never writes one; log level warning.
mapfile -t UNSET < <(compgen -e | grep '^GATEWAY_' | sed 's/^/-u/' || true)
for n in $WORKERS; do
  name=gateway; [ "$n" = 1 ] || name=gateway-${n}w
  cpus=$SUT_CPU; [ "$n" = 1 ] || cpus=0-$((n - 1))
  # N workers without Redis must run with idempotency off (each worker would keep its own
  # keys); the bench sends no idempotency key, so this changes nothing it measures.
  multi=(); [ "$n" = 1 ] || multi=(GATEWAY_IDEMPOTENCY=false)
  pick_port port
  start "$name" "$cpus" "$ROOT" "$OUT/$name.log" -- env "${UNSET[@]}" \
    GATEWAY_MEDUSA_URL="$BACKEND" GATEWAY_PUBLISHABLE_KEY="$KEY" GATEWAY_HOST="$HOST" \
    GATEWAY_PORT="$port" GATEWAY_BACKEND_PROFILE=open GATEWAY_LOG_LEVEL=warning \
    "${multi[@]}" ${GATEWAY_EXTRA:-} "$PYTHON" -m gateway --workers "$n"
  TARGETS+=("$name-full|graphql|http://$HOST:$port/graphql|$OUT/bodies/full.json|$name")
  if [ "$n" = 1 ]; then
    GRAPHQL=http://$HOST:$port/graphql
    TARGETS+=("$name-checkout|graphql|$GRAPHQL|$OUT/bodies/checkout.json|$name")
  fi
done
# Same-run A/B of the executor (GQLCORE=1): one more 1-worker gateway that runs every document
# on graphql-core (GATEWAY_EXECUTOR=graphql-core), full query, on the same core.
if [ "${GQLCORE:-0}" = 1 ]; then
  pick_port port
  start gateway-gqlcore "$SUT_CPU" "$ROOT" "$OUT/gateway-gqlcore.log" -- env "${UNSET[@]}" \
    GATEWAY_MEDUSA_URL="$BACKEND" GATEWAY_PUBLISHABLE_KEY="$KEY" GATEWAY_HOST="$HOST" \
    GATEWAY_PORT="$port" GATEWAY_BACKEND_PROFILE=open GATEWAY_LOG_LEVEL=warning \
    GATEWAY_EXECUTOR=graphql-core "$PYTHON" -m gateway --workers 1
  TARGETS+=("gateway-gqlcore-full|graphql|http://$HOST:$port/graphql|$OUT/bodies/full.json|gateway-gqlcore")
fi
HEADER="x-publishable-api-key: $KEY"

# ------------------------------------------------------------------ correctness before load
smoke_all() {  # smoke_all PHASE WAIT
  local t label kind url body
  for t in "${TARGETS[@]}"; do
    IFS='|' read -r label kind url body _ <<< "$t"
    if ! "${TOOLS[@]}" smoke "$url" "$body" "$kind" --header "$HEADER" --wait "$2" \
      --expect "$COLLECTION" --expect "$CLIENT_SECRET" \
      >>"$OUT/smoke-$1.log" 2>&1; then
      cat "$OUT/smoke-$1.log" >&2
      echo "$label did not answer correctly ($1); logs in $OUT" >&2
      exit 1
    fi
  done
  sed 's/^/  /' "$OUT/smoke-$1.log"
}
echo "smoke check (every target: HTTP 200, a payment collection / GraphQL data, no errors)"
smoke_all before 60
"${TOOLS[@]}" smoke "$BACKEND/store/payment-collections/$COLLECTION/payment-sessions" \
  "$OUT/bodies/rest.json" rest --wait 10 >/dev/null
mem_args=()
for i in "${!PIDS[@]}"; do mem_args+=("${LABELS[$i]}=${PIDS[$i]}"); done
"${TOOLS[@]}" rss idle "${mem_args[@]}" >>"$RSS"

# ------------------------------------------------------------------ measure
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
echo "measuring: ${WARMUP}s warm-up + ${DURATION}s per target, c=[$CONCURRENCIES], $ROUNDS round(s); load avg $LOAD_BEFORE"
wrk_run() {  # wrk_run LABEL CONC SECONDS URL BODY
  WRK_LABEL=$1 taskset -c "$LOAD_CPU" wrk -t1 -c"$2" -d"$3s" --timeout 10s -s "$HERE/post.lua" \
    "$4" -- "$5" "$HEADER"
}
for round in $(seq "$ROUNDS"); do
  for c in $CONCURRENCIES; do
    for t in "${TARGETS[@]}"; do
      IFS='|' read -r label kind url body process <<< "$t"
      pid=$(pid_of "$process")
      core=$SUT_CPU; [[ $process != *w ]] || core=-1  # N workers: spread, no noise figure
      kill -0 "$pid" 2>/dev/null || { echo "$process (pid $pid) is gone; see $OUT" >&2; exit 1; }
      [ "$WARMUP" = 0 ] || wrk_run "$label" "$c" "$WARMUP" "$url" "$body" >/dev/null 2>&1 || true
      for attempt in $(seq $((NOISE_RETRIES + 1))); do
        before=$("${TOOLS[@]}" snapshot "$pid" "$core")
        raw=$OUT/raw/wrk-$label-c$c-r$round-a$attempt.txt
        wrk_run "$label" "$c" "$DURATION" "$url" "$body" >"$raw" 2>&1 || true
        after=$("${TOOLS[@]}" snapshot "$pid" "$core")
        rc=0
        row=$("${TOOLS[@]}" record "$label" "$round" "$c" "$before" "$after" "$raw" \
          --attempt "$attempt" --noise-max "$NOISE_MAX") || rc=$?
        if [ $rc = 0 ] || [ $rc = 3 ]; then
          echo "$row" >>"$RESULTS"
          if [ $rc = 3 ] && [ "$attempt" -le "$NOISE_RETRIES" ]; then
            echo "    other processes used >$NOISE_MAX of CPU $SUT_CPU: measuring again" >&2
            sleep "$NOISE_PAUSE"
            continue
          fi
        else
          echo "wrk gave no result for $label c=$c:" >&2
          cat "$raw" >&2
        fi
        break
      done
    done
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ------------------------------------------------------------------ correctness after load, memory
echo "smoke check after the load"
smoke_all after 5
"${TOOLS[@]}" rss after "${mem_args[@]}" >>"$RSS"

# ------------------------------------------------------------------ the cost curve (50 ms backend)
CURVE_MD=""
if [ "$CURVE" = 1 ]; then
  CURVE_ROWS=$OUT/curve.jsonl
  : >"$CURVE_ROWS"
  curve_targets=("gateway-full|gateway")
  [ "$MESH" = 0 ] || curve_targets+=("mesh-hive-gateway|mesh-hive-gateway")
  curl -sf -XPOST "$BACKEND/__delay/$CURVE_DELAY" >/dev/null
  echo "cost curve: backend answers after ${CURVE_DELAY} ms; c=[$CURVE_CONCURRENCIES], ${CURVE_WARMUP}s warm-up + ${CURVE_DURATION}s each"
  declare -A IDLE_KIB
  for t in "${curve_targets[@]}"; do
    IFS='|' read -r label process <<< "$t"
    IDLE_KIB[$label]=$("$PYTHON" "$HERE/curve.py" sample "$(pid_of "$process")" 0.3)
  done
  target_field() {  # target_field LABEL FIELD(3=url 4=body)
    local t
    for t in "${TARGETS[@]}"; do [[ $t == "$1|"* ]] && { echo "$t" | cut -d'|' -f"$2"; return; }; done
  }
  curve_measure() {  # curve_measure LABEL PROCESS MODE LOAD
    local label=$1 process=$2 mode=$3 load=$4 pid url body raw before after peak seconds
    pid=$(pid_of "$process"); url=$(target_field "$label" 3); body=$(target_field "$label" 4)
    raw=$OUT/raw/curve-$label-$mode-$load.txt
    seconds=$CURVE_DURATION; [ "$mode" = closed ] || seconds=$OPEN_SECONDS
    if [ "$mode" = closed ] && [ "$CURVE_WARMUP" != 0 ]; then
      wrk_run "$label" "$load" "$CURVE_WARMUP" "$url" "$body" >/dev/null 2>&1 || true
    fi
    before=$("${TOOLS[@]}" snapshot "$pid" "$SUT_CPU")
    "$PYTHON" "$HERE/curve.py" sample "$pid" "$seconds" >"$raw.rss" &
    local sampler=$!
    if [ "$mode" = closed ]; then
      wrk_run "$label" "$load" "$seconds" "$url" "$body" >"$raw" 2>&1 || true
    else
      taskset -c "$LOAD_CPU" "$PYTHON" "$HERE/load.py" "$url" "$body" --rate "$load" \
        --seconds "$seconds" --header "$HEADER" --label "$label" >"$raw" 2>&1 || true
    fi
    after=$("${TOOLS[@]}" snapshot "$pid" "$SUT_CPU")
    wait "$sampler" || true
    peak=$(cat "$raw.rss")
    "$PYTHON" "$HERE/curve.py" record "$label" "$mode" "$load" "$before" "$after" "$raw" \
      "${IDLE_KIB[$label]}" "$peak" >>"$CURVE_ROWS" || { echo "no result for $label $mode $load:" >&2; cat "$raw" >&2; }
    tail -n1 "$CURVE_ROWS" | cut -c1-220 | sed 's/^/  /'
  }
  for c in $CURVE_CONCURRENCIES; do
    for t in "${curve_targets[@]}"; do
      IFS='|' read -r label process <<< "$t"
      curve_measure "$label" "$process" closed "$c"
    done
  done
  # Open loop at multiples of our own closed-loop goodput at the lowest concurrency measured.
  base=$("$PYTHON" -c 'import json,sys; rows=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]; rows=[r for r in rows if r["label"]=="gateway-full" and r["mode"]=="closed"]; print(int(min(rows, key=lambda r: r["load"])["goodput"]) if rows else 0)' "$CURVE_ROWS")
  if [ "${base:-0}" -gt 0 ]; then
    for m in $OPEN_MULTIPLIERS; do
      for t in "${curve_targets[@]}"; do
        IFS='|' read -r label process <<< "$t"
        curve_measure "$label" "$process" open $((base * m))
      done
    done
  fi
  curl -sf -XPOST "$BACKEND/__delay/0" >/dev/null
  CURVE_MD=$OUT/curve.md
  "$PYTHON" "$HERE/curve.py" table "$CURVE_ROWS" --ours gateway-full --peer mesh-hive-gateway >"$CURVE_MD"
  # The picture the README shows (docs/img/curve-50ms.png is this file from a full run).
  "$PYTHON" "$HERE/plot_curve.py" "$CURVE_ROWS" "$OUT/curve.png"
fi

# ------------------------------------------------------------------ optional profile
PROFILE_MD=""
if [ "$PYSPY" = 1 ]; then
  PYSPY_BIN=$(dirname "$PYTHON")/py-spy
  [ -x "$PYSPY_BIN" ] || PYSPY_BIN=$(command -v py-spy || true)
  if [ -z "$PYSPY_BIN" ]; then
    echo "PYSPY=1 but py-spy is not installed; no profile" >&2
  else
    echo "profiling the gateway: $PYSPY_QUERY query, c=$PYSPY_CONCURRENCY, ${PYSPY_SECONDS}s with py-spy"
    wrk_run "gateway-$PYSPY_QUERY" "$PYSPY_CONCURRENCY" $((PYSPY_SECONDS + 4)) "$GRAPHQL" \
      "$OUT/bodies/$PYSPY_QUERY.json" >"$OUT/raw/wrk-pyspy.txt" 2>&1 &
    PIDS+=("$!")
    LABELS+=(wrk-pyspy)
    sleep 2
    "$PYSPY_BIN" record -p "$(pid_of gateway)" -d "$PYSPY_SECONDS" -r 200 -f raw \
      -o "$OUT/pyspy-$PYSPY_QUERY-c$PYSPY_CONCURRENCY.txt" >"$OUT/pyspy.log" 2>&1 || cat "$OUT/pyspy.log" >&2
    wait "$(pid_of wrk-pyspy)" || true
    unset 'PIDS[-1]' 'LABELS[-1]'  # reaped: never signal that PID again
    if [ -s "$OUT/pyspy-$PYSPY_QUERY-c$PYSPY_CONCURRENCY.txt" ]; then
      PROFILE_MD=$OUT/profile.md
      "${TOOLS[@]}" profile "$OUT/pyspy-$PYSPY_QUERY-c$PYSPY_CONCURRENCY.txt" >"$PROFILE_MD"
    fi
  fi
fi

# ------------------------------------------------------------------ report
HIVE_VERSION=""
[ "$MESH" != 0 ] && HIVE_VERSION=", @graphql-hive/gateway $(node -p "require('$PEER/node_modules/@graphql-hive/gateway/package.json').version")"
GATEWAY_ERRORS=$(cat "$OUT"/gateway*.log | grep -cE 'ERROR|Traceback' || true)
{
  echo "Run $RUN_START on $(uname -n) ($CPUS CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)); load average $LOAD_BEFORE before, $LOAD_AFTER after."
  echo "DURATION=${DURATION}s WARMUP=${WARMUP}s ROUNDS=$ROUNDS c=[$CONCURRENCIES]; wrk -t1 and the backend stub on CPU $LOAD_CPU, each system under test on CPU $SUT_CPU."
  echo "Versions: $("${TOOLS[@]}" versions); node $(node --version); wrk $(dpkg-query -W -f='${Version}' wrk 2>/dev/null || echo '?')$HIVE_VERSION."
  echo "Code: $CODE."
  echo "Gateway: python -m gateway, GATEWAY_BACKEND_PROFILE=open ${GATEWAY_EXTRA:-}, log level warning, no access log; error lines in its log: $GATEWAY_ERRORS."
  [ "$MESH" != 0 ] || echo "Note: the peer was not measured (MESH=$MESH)."
  echo
  "${TOOLS[@]}" table "$RESULTS" --rss "$RSS"
  if [ -n "$CURVE_MD" ]; then
    echo
    echo "Cost curve: the backend stub answers after ${CURVE_DELAY} ms; one worker and the peer, each on CPU $SUT_CPU; wrk ${CURVE_WARMUP}s warm-up + ${CURVE_DURATION}s (closed loop), bench/load.py ${OPEN_SECONDS}s (open loop):"
    echo
    cat "$CURVE_MD"
  fi
  if [ -n "$PROFILE_MD" ]; then
    echo
    echo "Where the gateway's CPU goes (py-spy, 200 Hz, ${PYSPY_SECONDS}s, $PYSPY_QUERY query, c=$PYSPY_CONCURRENCY):"
    echo
    cat "$PROFILE_MD"
  fi
} | tee "$OUT/report.md"
