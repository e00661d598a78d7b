#!/usr/bin/env bash
# Stop exactly what up.sh started: Medusa by its recorded process group, Postgres by pg_ctl.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=env.sh
source "$HERE/env.sh"
if [ -f "$MEDUSA_HOME/medusa.pid" ]; then
  PID=$(cat "$MEDUSA_HOME/medusa.pid")
  if kill -0 "$PID" 2>/dev/null; then
    kill -TERM -- "-$PID" 2>/dev/null || kill -TERM "$PID"
    for _ in $(seq 1 20); do kill -0 "$PID" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$PID" 2>/dev/null && { kill -KILL -- "-$PID" 2>/dev/null || kill -KILL "$PID"; }
    log "medusa (pid $PID) stopped"
  fi
  rm -f "$MEDUSA_HOME/medusa.pid"
fi
if [ -s "$PGDATA/PG_VERSION" ] && as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
  as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null && log "postgres stopped"
fi
rm -f "$MEDUSA_HOME/postgres.pid"
