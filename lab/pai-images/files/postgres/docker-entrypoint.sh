#!/usr/bin/env bash
# Entrypoint of the PostgreSQL stand-in, keeping the official postgres image's contract:
#   POSTGRES_PASSWORD (or _FILE; required unless POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_USER
#   (default postgres), POSTGRES_DB (default the user), POSTGRES_INITDB_ARGS, POSTGRES_INITDB_WALDIR,
#   POSTGRES_HOST_AUTH_METHOD (default scram-sha-256), PGDATA; scripts and SQL in
#   /docker-entrypoint-initdb.d run once, on an empty PGDATA; arguments starting with "-" are
#   postgres's (`-c port=5432 -N 1000`); run as root it drops to the postgres user.
set -Eeuo pipefail

# file_env VAR: VAR from VAR_FILE (Docker/Kubernetes secrets), never both.
file_env() {
  local var="$1" file_var="${1}_FILE" default="${2:-}"
  if [[ -n "${!var:-}" && -n "${!file_var:-}" ]]; then
    echo "error: both $var and $file_var are set (but are exclusive)" >&2
    exit 1
  fi
  local value="$default"
  if [[ -n "${!var:-}" ]]; then
    value="${!var}"
  elif [[ -n "${!file_var:-}" ]]; then
    value="$(<"${!file_var}")"
  fi
  export "$var"="$value"
  unset "$file_var"
}

setup_env() {
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_USER postgres
  file_env POSTGRES_DB "$POSTGRES_USER"
  file_env POSTGRES_INITDB_ARGS
  : "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
  export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
}

# Owned by postgres, mode 700: what initdb and postgres insist on.
create_dirs() {
  mkdir -p "$PGDATA" /var/run/postgresql
  chmod 00700 "$PGDATA" || :
  chmod 03775 /var/run/postgresql || :
  if [[ -n "${POSTGRES_INITDB_WALDIR:-}" ]]; then
    mkdir -p "$POSTGRES_INITDB_WALDIR"
    ((EUID != 0)) || find "$POSTGRES_INITDB_WALDIR" \! -user postgres -exec chown postgres '{}' +
    chmod 700 "$POSTGRES_INITDB_WALDIR"
  fi
  if ((EUID == 0)); then
    find "$PGDATA" \! -user postgres -exec chown postgres '{}' +
    find /var/run/postgresql \! -user postgres -exec chown postgres '{}' +
  fi
}

init_database_dir() {
  if [[ -z "${POSTGRES_PASSWORD:-}" && "$POSTGRES_HOST_AUTH_METHOD" != trust ]]; then
    cat >&2 <<'MSG'
Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD to a non-empty value for the
       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".
       (POSTGRES_HOST_AUTH_METHOD=trust allows all connections without a password.)
MSG
    exit 1
  fi
  local args=()
  [[ -z "${POSTGRES_INITDB_WALDIR:-}" ]] || args+=(--waldir "$POSTGRES_INITDB_WALDIR")
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of words, as in the official image
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "${POSTGRES_PASSWORD:-}") "${args[@]}" $POSTGRES_INITDB_ARGS
  # Remote clients authenticate with the password; local socket connections are trusted.
  printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"
  printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
}

psql_run() {
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc "$@"
}

# First start only: the database, then /docker-entrypoint-initdb.d, on a server reachable only
# through its socket.
init_database() {
  PGUSER="$POSTGRES_USER" pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p ${PGPORT:-5432}" -w start
  if [[ "$POSTGRES_DB" != postgres ]]; then
    psql_run --dbname postgres --set db="$POSTGRES_DB" <<<"CREATE DATABASE :\"db\" ;"
  fi
  local file
  for file in /docker-entrypoint-initdb.d/*; do
    case "$file" in
      *.sh)
        if [[ -x "$file" ]]; then echo "running $file"; "$file"; else echo "sourcing $file"; # shellcheck disable=SC1090
          source "$file"; fi ;;
      *.sql) echo "running $file"; psql_run --dbname "$POSTGRES_DB" -f "$file" ;;
      *.sql.gz) echo "running $file"; gunzip -c "$file" | psql_run --dbname "$POSTGRES_DB" ;;
      *.sql.xz) echo "running $file"; xzcat "$file" | psql_run --dbname "$POSTGRES_DB" ;;
      *) [[ ! -e "$file" ]] || echo "ignoring $file" ;;
    esac
  done
  PGUSER="$POSTGRES_USER" pg_ctl -D "$PGDATA" -m fast -w stop
  echo
  echo 'PostgreSQL init process complete; ready for start up.'
  echo
}

main() {
  # `docker run postgres -N 1000`: flags are the server's.
  if [[ "${1:-}" == -* ]]; then
    set -- postgres "$@"
  fi
  if [[ "${1:-}" == postgres ]]; then
    setup_env
    create_dirs
    if ((EUID == 0)); then
      exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
    fi
    if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
      init_database_dir
      init_database
    else
      echo
      echo 'PostgreSQL Database directory appears to contain a database; Skipping initialization'
      echo
    fi
  fi
  exec "$@"
}

main "$@"
