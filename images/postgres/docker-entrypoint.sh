#!/usr/bin/env bash
# A small entrypoint with the official postgres image's contract:
#   POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_USER (default postgres),
#   POSTGRES_DB (default $POSTGRES_USER), POSTGRES_INITDB_ARGS, POSTGRES_HOST_AUTH_METHOD (default scram-sha-256),
#   each also as *_FILE (read as root, so root-only secret files work), PGDATA, and
#   /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz run once, on first start, in name order.
# During initialisation the server listens on a private unix socket only, so neither TCP nor the default
# socket answers until it is really ready; then postgres is exec'd in the foreground as uid 999.
set -Eeuo pipefail
shopt -s nullglob

say() { printf '%s\n' "entrypoint: $*"; }
die() { printf '%s\n' "entrypoint: error: $*" >&2; exit 1; }

# file_env VAR [DEFAULT]: VAR from $VAR, or from the file named by $VAR_FILE.
file_env() {
  local var="$1" file_var="${1}_FILE" def="${2:-}" val
  if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
    die "both $var and $file_var are set (but they are exclusive)"
  fi
  val="$def"
  if [ -n "${!var:-}" ]; then
    val="${!var}"
  elif [ -n "${!file_var:-}" ]; then
    [ -r "${!file_var}" ] || die "$file_var=${!file_var} is not readable"
    val="$(<"${!file_var}")"
  fi
  export "$var"="$val"
  unset "$file_var"
}

setup_env() {
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_USER postgres
  file_env POSTGRES_DB "$POSTGRES_USER"
  file_env POSTGRES_INITDB_ARGS
  : "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
  export POSTGRES_HOST_AUTH_METHOD
  export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
}

create_dirs() {
  mkdir -p "$PGDATA"
  chmod 0700 "$PGDATA" 2>/dev/null || true
  mkdir -p /var/run/postgresql
  chmod 3777 /var/run/postgresql 2>/dev/null || true
  if [ "$(id -u)" = 0 ]; then
    find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
    find /var/run/postgresql \! -user postgres -exec chown postgres:postgres '{}' +
  fi
}

run_sql() {  # psql against the init server, stopping at the first error
  psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --username "$POSTGRES_USER" "$@"
}

init_db() {
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
    die "the database is uninitialised and POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE) is not set; \
set it, or POSTGRES_HOST_AUTH_METHOD=trust to allow connections without a password (not recommended)"
  fi
  say "initialising database cluster in $PGDATA"
  local pwfile
  pwfile="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a word list on purpose
  initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 \
    --auth-host=scram-sha-256 --auth-local=trust $POSTGRES_INITDB_ARGS -D "$PGDATA"
  rm -f "$pwfile"
  # local (unix socket) stays trust: only processes inside this container reach it.
  printf '\n# from the berth entrypoint\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"

  # Temporary server: no TCP, and a private socket so even a default-socket pg_isready says "no".
  local sockdir
  sockdir="$(mktemp -d)"
  export PGHOST="$sockdir" PGPORT=5432
  export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
  pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -c unix_socket_directories='$sockdir' -p 5432" start

  if [ "$POSTGRES_DB" != postgres ]; then
    local exists
    exists="$(run_sql --dbname postgres --tuples-only --no-align --set db="$POSTGRES_DB" \
      <<<"SELECT 1 FROM pg_database WHERE datname = :'db';")"
    if [ -z "$exists" ]; then
      say "creating database $POSTGRES_DB"
      run_sql --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
    fi
  fi

  local f
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh)
        if [ -x "$f" ]; then say "running $f"; "$f"
        else say "sourcing $f"; # shellcheck disable=SC1090
          . "$f"; fi ;;
      *.sql) say "running $f"; run_sql --dbname "$POSTGRES_DB" -f "$f" ;;
      *.sql.gz) say "running $f"; gunzip -c "$f" | run_sql --dbname "$POSTGRES_DB" ;;
      *) say "ignoring $f" ;;
    esac
  done

  pg_ctl -D "$PGDATA" -m fast -w stop
  rmdir "$sockdir" 2>/dev/null || true
  unset PGHOST PGPORT PGPASSWORD
  say "PostgreSQL init process complete; ready for start up."
}

main() {
  # `docker run berth/postgres:15 -c foo=bar` means postgres -c foo=bar
  if [ "${1:0:1}" = '-' ]; then
    set -- postgres "$@"
  fi
  if [ "$1" = postgres ]; then
    setup_env
    create_dirs
    if [ "$(id -u)" = 0 ]; then
      # drop to the postgres user (uid 999) and run this script again
      exec setpriv --reuid=postgres --regid=postgres --init-groups -- "${BASH_SOURCE[0]}" "$@"
    fi
    if [ ! -s "$PGDATA/PG_VERSION" ]; then
      init_db
    else
      say "database directory $PGDATA already contains a cluster; skipping initialisation"
    fi
    unset POSTGRES_PASSWORD
  fi
  exec "$@"
}

main "$@"
