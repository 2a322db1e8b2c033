#!/usr/bin/env bash
# Database access shared by backup.sh, restore.sh and restore-check.sh (sourced).
#
#   DB_ACCESS  docker (default, the VPS): run client programs inside the database
#              container with `docker exec -i <container>`;
#              local (tests, bench): run them on this host (libpq's PGHOST/PGPORT).

# pg_tool <container> <program> [args...]: runs a PostgreSQL client program where the
# database is (DB_ACCESS above).
pg_tool() {
  local container=$1
  shift
  if [ "${DB_ACCESS:-docker}" = docker ]; then
    docker exec -i "$container" "$@"
  else
    "$@"
  fi
}
