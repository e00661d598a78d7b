#!/usr/bin/env bash
# Install (once), start and seed a real Medusa 2.21 on loopback for the end-to-end tests.
# Idempotent: a re-run reuses the cached install, database and seed. Stop it with down.sh.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=env.sh
source "$HERE/env.sh"
T0=$(date +%s)
mkdir -p "$MEDUSA_HOME" "$LOG_DIR"
chmod 755 "$MEDUSA_HOME" "$(dirname "$MEDUSA_HOME")" 2>/dev/null || true

# -- PostgreSQL: from apt when its server binaries are missing.
if [ ! -x "$PG_BIN/initdb" ]; then
  log "installing PostgreSQL from apt"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  log "initdb $PGDATA"
  mkdir -p "$PGDATA" && chown "$PG_USER" "$PGDATA" && chmod 700 "$PGDATA"
  as_pg "$PG_BIN/initdb" -D "$PGDATA" -U "$PG_USER" --auth=trust -E UTF8 --locale=C.UTF-8 >"$LOG_DIR/initdb.log"
  cat >>"$PGDATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PGDATA'
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
fi
chown "$PG_USER" "$LOG_DIR"
if ! as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
  # The server would inherit our stderr (holding a caller's pipe open): redirect both.
  as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$LOG_DIR/postgres.log" -w -t 60 start >/dev/null 2>&1
fi
head -1 "$PGDATA/postmaster.pid" >"$MEDUSA_HOME/postgres.pid"
if ! psql -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d postgres -tAc \
    "select 1 from pg_database where datname='$PG_DB'" | grep -q 1; then
  psql -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d postgres -qc "CREATE DATABASE $PG_DB"
fi
log "postgres on 127.0.0.1:$PG_PORT ($(( $(date +%s) - T0 ))s)"

# -- The Medusa project: npm packages, a JS config without the admin build.
mkdir -p "$APP_DIR/src"
cp "$HERE/project/package.json" "$HERE/project/medusa-config.js" "$HERE/project/tsconfig.json" "$APP_DIR/"
sed -i "s/__MEDUSA_VERSION__/$MEDUSA_VERSION/g" "$APP_DIR/package.json"
printf 'DATABASE_URL=%s\nMEDUSA_DISABLE_TELEMETRY=true\n' "$DATABASE_URL" >"$APP_DIR/.env"
# A lockfile per Medusa version pins all ~1,100 packages (recorded from a verified install), so a
# clean checkout months from now installs what the tests were proven against. Other versions
# resolve afresh with `npm install`.
LOCK="$HERE/project/package-lock-$MEDUSA_VERSION.json"
NPM_CMD=(npm install)
if [ -f "$LOCK" ]; then
  cp "$LOCK" "$APP_DIR/package-lock.json"
  NPM_CMD=(npm ci)
fi
STAMP="$(cat "$APP_DIR/package.json" "$LOCK" 2>/dev/null | sha256sum | cut -c1-16)"
if [ "$STAMP" != "$(cat "$MEDUSA_HOME/installed.stamp" 2>/dev/null)" ] \
    || [ ! -x "$APP_DIR/node_modules/.bin/medusa" ]; then
  log "${NPM_CMD[*]} @medusajs/medusa@$MEDUSA_VERSION (a few minutes) ..."
  (cd "$APP_DIR" && "${NPM_CMD[@]}" --no-audit --no-fund --loglevel=error >"$LOG_DIR/npm-install.log" 2>&1) \
    || { tail -40 "$LOG_DIR/npm-install.log"; exit 1; }
  echo "$STAMP" >"$MEDUSA_HOME/installed.stamp"
  rm -f "$MEDUSA_HOME/migrated"
fi
if [ ! -f "$MEDUSA_HOME/migrated" ]; then
  log "medusa db:migrate ..."
  (cd "$APP_DIR" && NODE_ENV=development npx --no-install medusa db:migrate >"$LOG_DIR/db-migrate.log" 2>&1) \
    || { tail -60 "$LOG_DIR/db-migrate.log"; exit 1; }
  touch "$MEDUSA_HOME/migrated"
fi
log "installed ($(( $(date +%s) - T0 ))s)"

# -- Start Medusa in its own process group, so down.sh can stop it and its children by PID.
if [ -f "$MEDUSA_HOME/medusa.pid" ] && kill -0 "$(cat "$MEDUSA_HOME/medusa.pid")" 2>/dev/null; then
  log "medusa already running (pid $(cat "$MEDUSA_HOME/medusa.pid"))"
else
  # A simple command in the background (no subshell left holding our stdout); setsid makes
  # its PID its process-group id, which down.sh signals.
  cd "$APP_DIR"
  NODE_ENV=development MEDUSA_DISABLE_TELEMETRY=true \
    setsid ./node_modules/.bin/medusa start --host 127.0.0.1 --port "$MEDUSA_PORT" \
    >"$LOG_DIR/medusa.log" 2>&1 </dev/null &
  echo $! >"$MEDUSA_HOME/medusa.pid"
  cd - >/dev/null
fi
PID=$(cat "$MEDUSA_HOME/medusa.pid")
for _ in $(seq 1 180); do
  curl -fsS -m 2 "$MEDUSA_URL/health" >/dev/null 2>&1 && break
  kill -0 "$PID" 2>/dev/null || { log "medusa exited:"; tail -40 "$LOG_DIR/medusa.log"; exit 1; }
  sleep 1
done
curl -fsS -m 2 "$MEDUSA_URL/health" >/dev/null || { log "medusa not healthy"; exit 1; }
log "medusa pid $PID healthy at $MEDUSA_URL ($(( $(date +%s) - T0 ))s)"

# -- Seed once (admin user, sales channel, publishable key, region, product).
if [ ! -s "$MEDUSA_HOME/seed.json" ]; then
  (cd "$APP_DIR" && NODE_ENV=development ./node_modules/.bin/medusa user -e "$ADMIN_EMAIL" \
     -p "$ADMIN_PASSWORD" >"$LOG_DIR/medusa-user.log" 2>&1) \
    || grep -qi "exist" "$LOG_DIR/medusa-user.log" || { tail -20 "$LOG_DIR/medusa-user.log"; exit 1; }
  python3 "$HERE/seed.py" "$MEDUSA_HOME/seed.json"
fi
log "ready in $(( $(date +%s) - T0 ))s: $MEDUSA_URL, seed in $MEDUSA_HOME/seed.json"
