# Settings shared by the scripts in this folder (sourced, not executed). Loopback only.
MEDUSA_VERSION="${MEDUSA_VERSION:-2.21.2}"
# /var/tmp survives reboots and, unlike /root, is traversable by the postgres OS user.
MEDUSA_HOME="${MEDUSA_HOME:-/var/tmp/medusa-graphql-gateway/medusa-$MEDUSA_VERSION}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_PORT="${MEDUSA_PG_PORT:-54339}"
PG_USER=postgres           # Postgres refuses to run as root: the cluster belongs to this OS user
PG_DB=medusa
PGDATA="$MEDUSA_HOME/pgdata"
APP_DIR="$MEDUSA_HOME/app"
LOG_DIR="$MEDUSA_HOME/logs"
MEDUSA_PORT="${MEDUSA_PORT:-9010}"
MEDUSA_URL="http://127.0.0.1:$MEDUSA_PORT"
DATABASE_URL="postgres://$PG_USER@127.0.0.1:$PG_PORT/$PG_DB?sslmode=disable"
ADMIN_EMAIL="admin@example.test"
ADMIN_PASSWORD="${MEDUSA_ADMIN_PASSWORD:-supersecret-admin}"
export MEDUSA_HOME MEDUSA_URL ADMIN_EMAIL ADMIN_PASSWORD

as_pg() { runuser -u "$PG_USER" -- "$@"; }
log() { printf '[medusa] %s\n' "$*"; }
