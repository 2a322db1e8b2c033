#!/usr/bin/env bash
# Database access shared by backup.sh, restore.sh and restore-check.sh (sourced).
#
#   DB_ACCESS  docker (default, the VPS): run client programs inside the database
#              container with `docker exec -i <container>`;
#              local (tests, bench): run them on this host (libpq's PGHOST/PGPORT).
#   DB_TOOL_TIMEOUT_SECONDS   limit of one dump or restore (pg_dump, pg_restore, redis-cli
#                             --rdb); default 3300, inside the backup unit's hour
#   DOCKER_TIMEOUT_SECONDS    limit of a short call (a query, createdb, dropdb); default 60

# pg_tool <container> <program> [args...]: runs a PostgreSQL client program where the
# database is (DB_ACCESS above), within DB_TOOL_TIMEOUT_SECONDS (status 124 past it).
pg_tool() {
  db_timed "${DB_TOOL_TIMEOUT_SECONDS:-3300}" "$@"
}

# pg_short <container> <program> [args...]: as pg_tool, for a call that takes seconds.
pg_short() {
  db_timed "${DOCKER_TIMEOUT_SECONDS:-60}" "$@"
}

db_timed() {
  local seconds=$1 container=$2
  shift 2
  if [ "${DB_ACCESS:-docker}" = docker ]; then
    timeout --kill-after=5 "$seconds" "${DOCKER:-docker}" exec -i "$container" "$@"
  else
    timeout --kill-after=5 "$seconds" "$@"
  fi
}

# pg_explain_error <stderr-file> <user>: one sentence for a failed PostgreSQL client call,
# telling a refused login from an unreachable server from a hung Docker daemon.
pg_explain_error() {
  local err
  err=$(grep -v '^$' "$1" 2>/dev/null | head -n 3 | tr '\n' ' ' | cut -c1-300)
  case "$err" in
    *"password authentication failed"* | *"no password supplied"* | *"authentication failed"*)
      echo "PostgreSQL refused the login of user '$2' (wrong or missing password): $err" ;;
    *"role "*"does not exist"*) echo "PostgreSQL has no role '$2': $err" ;;
    *"Connection refused"* | *"could not connect"* | *"No such file or directory"*"socket"* | *"could not translate host name"*)
      echo "cannot reach PostgreSQL: $err" ;;
    *"No such container"* | *"is not running"*) echo "the database container is not there or not running: $err" ;;
    *) echo "PostgreSQL call failed: ${err:-no error output (timed out?)}" ;;
  esac
}
