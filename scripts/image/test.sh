#!/usr/bin/env bash
# Run the built image and check it from outside, as an operator would meet it:
#   - it runs as the unprivileged user (uid 10001), with GATEWAY_ENV=production by default;
#   - the sandbox (GATEWAY_ENV=development, loopback) answers /healthz (with the release),
#     /readyz and createPaymentSession from inside the image;
#   - the image's own HEALTHCHECK command, run inside it, passes on the GATEWAY_PORT the server
#     uses and fails on a port where nothing listens;
#   - with its defaults and no GATEWAY_MEDUSA_URL the image refuses to start (fail closed,
#     issue 12: production must not serve the demo sandbox on a public interface);
#   - its size.
# Needs buildah and an image built by `scripts/image/build.sh --standin` (IMAGE). `buildah run`
# shares the host's network, so a server bound to 127.0.0.1 inside is reachable from here.
# Exits non-zero if any check fails. Removes its own container (by id) and processes.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
IMAGE="${IMAGE:-localhost/medusa-graphql-gateway:dev}"
STANDIN_IMAGE="${STANDIN_IMAGE:-localhost/python:3.11-slim-standin}"
B=(buildah --storage-driver vfs)
RUN=("${B[@]}" run --isolation chroot)
WORK="$(mktemp -d)"
failures=0
ctr=""
server_pid=""

log() { printf '[image-test] %s\n' "$*"; }
check() {  # check OK|FAIL "what" ["detail"]
  if [ "$1" = OK ]; then echo "  ok   $2"; else echo "  FAIL $2${3:+: $3}"; failures=$((failures + 1)); fi
}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
descendants() {  # every process below PID
  local child
  for child in $(ps -o pid= --ppid "$1"); do echo "$child"; descendants "$child"; done
}
stop() {  # stop PID: `buildah run` ends the process it runs inside when it is terminated
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  if [ -n "$server_pid" ]; then stop "$server_pid"; fi
  if [ -n "$ctr" ]; then "${B[@]}" rm "$ctr" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

"${B[@]}" inspect --type image "$IMAGE" >/dev/null 2>&1 \
  || { log "no image $IMAGE: build it first (scripts/image/build.sh --standin)"; exit 1; }
ctr="$("${B[@]}" from --pull=never "$IMAGE")"
inspect() { "${B[@]}" inspect --type image --format "$1" "$IMAGE"; }
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ROOT/pyproject.toml")"
log "image $IMAGE (container $ctr), expecting release $version"

echo "image configuration"
user="$(inspect '{{.Docker.Config.User}}')"
[ "$user" = "10001:10001" ] && check OK "USER is 10001:10001" || check FAIL "USER is 10001:10001" "$user"
env_lines="$(inspect '{{range .Docker.Config.Env}}{{println .}}{{end}}')"
grep -qx 'GATEWAY_ENV=production' <<<"$env_lines" && check OK "GATEWAY_ENV=production by default" \
  || check FAIL "GATEWAY_ENV=production by default" "$(grep GATEWAY_ <<<"$env_lines" | tr '\n' ' ')"
# The HEALTHCHECK as the image declares it (["CMD", "python", ...]), run below as Docker would.
mapfile -t healthcheck < <(inspect '{{range .Docker.Config.Healthcheck.Test}}{{println .}}{{end}}')
if [ "${healthcheck[0]:-}" = CMD ] && [ "${#healthcheck[@]}" -gt 1 ]; then
  healthcheck=("${healthcheck[@]:1}")
  check OK "HEALTHCHECK declared: ${healthcheck[*]}"
else
  check FAIL "HEALTHCHECK declared in exec form" "${healthcheck[*]:-none (built without --format docker?)}"
fi
ids="$("${RUN[@]}" "$ctr" -- python -c 'import os; print(os.getuid(), os.getgid())')"
[ "$ids" = "10001 10001" ] && check OK "a process inside runs as uid/gid 10001" \
  || check FAIL "a process inside runs as uid/gid 10001" "$ids"

echo "the sandbox served from inside the image (GATEWAY_ENV=development, loopback)"
port="$(free_port)"
"${RUN[@]}" --env GATEWAY_ENV=development --env GATEWAY_HOST=127.0.0.1 --env GATEWAY_PORT="$port" \
  "$ctr" -- python -m gateway >"$WORK/server.log" 2>&1 &
server_pid=$!
python3 "$HERE/http_checks.py" "http://127.0.0.1:$port" "$WORK/server.log" "$version" \
  || failures=$((failures + 1))
# The server process itself (not only a one-off command) runs unprivileged: its uid, seen from
# here (`buildah run --isolation chroot` shares the host's process table).
server_uid=""
for pid in $(descendants "$server_pid"); do
  if [ "$(ps -o comm= -p "$pid")" = python ]; then server_uid="$(ps -o uid= -p "$pid" | tr -d ' ')"; fi
done
[ "$server_uid" = 10001 ] && check OK "the server process runs as uid 10001" \
  || check FAIL "the server process runs as uid 10001" "uid '${server_uid}'"

if [ "${#healthcheck[@]}" -gt 0 ] && [ "${healthcheck[0]}" != CMD ]; then
  # Docker runs the HEALTHCHECK with the container's environment: the server's GATEWAY_PORT.
  if out="$("${RUN[@]}" --env GATEWAY_HOST=127.0.0.1 --env GATEWAY_PORT="$port" "$ctr" -- "${healthcheck[@]}" 2>&1)"; then
    check OK "HEALTHCHECK passes on GATEWAY_PORT=$port"
  else
    check FAIL "HEALTHCHECK passes on GATEWAY_PORT=$port" "$out"
  fi
  idle="$(free_port)"
  if out="$("${RUN[@]}" --env GATEWAY_PORT="$idle" "$ctr" -- "${healthcheck[@]}" 2>&1)"; then
    check FAIL "HEALTHCHECK fails where nothing listens (GATEWAY_PORT=$idle)" "it passed"
  else
    check OK "HEALTHCHECK fails where nothing listens (GATEWAY_PORT=$idle): $(head -1 <<<"$out")"
  fi
fi
stop "$server_pid"
server_pid=""

echo "the image's defaults without GATEWAY_MEDUSA_URL (production): refuses to start"
# Only the port is changed (8000 may be taken on this machine); GATEWAY_HOST stays 0.0.0.0.
port="$(free_port)"
"${RUN[@]}" --env GATEWAY_PORT="$port" "$ctr" -- python -m gateway >"$WORK/prod.log" 2>&1 &
server_pid=$!
outcome=running
for _ in $(seq 150); do  # up to ~30 s: start-up of the real app takes a few seconds
  if ! kill -0 "$server_pid" 2>/dev/null; then
    if wait "$server_pid"; then outcome=exit0; else outcome=refused; fi
    server_pid=""
    break
  fi
  if python3 "$HERE/http_checks.py" --up "http://127.0.0.1:$port" 2>/dev/null; then outcome=serving; break; fi
  sleep 0.2
done
if [ -n "$server_pid" ]; then stop "$server_pid"; server_pid=""; fi
case "$outcome" in
  refused)
    if grep -q GATEWAY_MEDUSA_URL "$WORK/prod.log"; then
      check OK "exits non-zero, naming GATEWAY_MEDUSA_URL"
    else
      check FAIL "exits non-zero, naming GATEWAY_MEDUSA_URL" "$(tail -3 "$WORK/prod.log" | tr '\n' ' ')"
    fi
    ;;
  exit0) check FAIL "exits non-zero without GATEWAY_MEDUSA_URL" "it exited 0" ;;
  serving) check FAIL "exits non-zero without GATEWAY_MEDUSA_URL" "it served on 0.0.0.0:$port" ;;
  *) check FAIL "exits non-zero without GATEWAY_MEDUSA_URL" "still running after ~30 s" ;;
esac

echo "size"
size() { "${B[@]}" images --format '{{.Size}}' "$1" 2>/dev/null | head -1; }
echo "  $IMAGE: $(size "$IMAGE") (its base $STANDIN_IMAGE: $(size "$STANDIN_IMAGE"))"

if [ "$failures" -gt 0 ]; then
  log "$failures check(s) FAILED"
  exit 1
fi
log "all checks passed"
