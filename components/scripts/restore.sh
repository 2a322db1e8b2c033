#!/usr/bin/env bash
# Restores a backup written by backup.sh: fetches it (the newest complete one, or a given
# key), verifies its SHA-256 against the sidecar, and restores it. Nothing is restored
# from bytes that do not match their sidecar.
#
# Usage (on the VPS, as root, e.g. with sudo; the BackupJob installs this file beside backup.sh):
#   /opt/vps-jobs/<app>-<env>-backup/restore.sh [--env-file <file>] list postgres <database>
#   /opt/vps-jobs/<app>-<env>-backup/restore.sh [--env-file <file>] list redis <container>
#   /opt/vps-jobs/<app>-<env>-backup/restore.sh [--env-file <file>] postgres <database> --into <target-db> [--key <key>] [--replace]
#   /opt/vps-jobs/<app>-<env>-backup/restore.sh [--env-file <file>] redis <container> --output <file.rdb> [--key <key>]
#
#   --env-file  the job's env file to load (bucket, credential, databases). Default: when
#               S3_BUCKET is not already set, /etc/vps-jobs/<name of this script's
#               directory>.env, i.e. the backup job's own, so `sudo .../restore.sh ...` works.
#   list        prints the keys of the complete backups, oldest first
#   postgres    restores the dump of <database> into the database <target-db>, created
#               for the restore (template0), with pg_restore --single-transaction
#               --exit-on-error --no-owner --no-privileges: objects belong to the
#               restoring user. <target-db> must not exist unless --replace is given,
#               which drops it first (terminating its connections). Restoring the live
#               database is therefore: stop the back end, `--into <database> --replace`,
#               start the back end. The container and user come from BACKUP_POSTGRES.
#   redis       writes the verified RDB to <file.rdb>. To load it: stop the Redis
#               container, `docker cp <file.rdb> <container>:/data/dump.rdb`, start it
#               (with appendonly off; with AOF on, Redis loads the AOF instead).
#   --key       a key relative to the bucket, as printed by `list` (any tier)
#
# Environment: as backup.sh (BACKUP_POSTGRES, DB_ACCESS, S3_*, see s3.sh). The dump is
# downloaded to $TMPDIR (default /tmp) first: it needs that much free disk.
# Needs on the VPS: bash, coreutils, rclone, docker (DB_ACCESS=docker: createdb, dropdb,
# psql and pg_restore run in the database container); for DB_ACCESS=local the
# postgresql-client programs on this host (PGHOST/PGPORT).
#
# Exit status: 0 restored; 1 failed (nothing restored, or the partly restored target
# database dropped); 2 usage or configuration error, or the target exists without --replace.
#
# Sourced by restore-check.sh for its functions: the command runs only when executed.

# pg_tool (db.sh): runs a PostgreSQL client program where the database is.
# shellcheck disable=SC1091
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/db.sh"

# pg_entry <database>: prints "<container> <user>" of the database's BACKUP_POSTGRES entry.
pg_entry() {
  local entry container database user
  for entry in ${BACKUP_POSTGRES:-}; do
    IFS=: read -r container database user <<<"$entry"
    if [ "$database" = "$1" ]; then
      printf '%s %s\n' "$container" "$user"
      return 0
    fi
  done
  echo "restore: database '$1' is not in BACKUP_POSTGRES ('${BACKUP_POSTGRES:-}')" >&2
  return 2
}

# valid_db_name <name>: database names this script creates and drops; no quoting needed.
valid_db_name() {
  [[ "$1" =~ ^[A-Za-z_][A-Za-z0-9_-]{0,62}$ ]]
}

# pg_db_exists <container> <user> <database>
pg_db_exists() {
  local found
  found=$(pg_tool "$1" psql --no-password --username="$2" --dbname=postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$3'") || return 2
  [ "$found" = 1 ]
}

# restore_postgres <database> <target> <key|""> <replace:0|1>: the `postgres` command.
restore_postgres() {
  local database=$1 target=$2 key=$3 replace=$4 container user file status
  read -r container user <<<"$(pg_entry "$database")" || return 2
  [ -n "$container" ] || return 2
  if ! valid_db_name "$target"; then
    echo "restore: target database name '$target' is not [A-Za-z_][A-Za-z0-9_-]*" >&2
    return 2
  fi
  if [ -z "$key" ] && ! key=$(s3_newest_complete "postgres-$database" dump); then
    echo "restore: no complete backup of postgres database '$database' under s3://$S3_BUCKET/$S3_PREFIX" >&2
    return 1
  fi
  if pg_db_exists "$container" "$user" "$target"; then
    if [ "$replace" != 1 ]; then
      echo "restore: database '$target' exists; pass --replace to drop and restore it" >&2
      return 2
    fi
  else
    status=$?
    [ "$status" -eq 1 ] || { echo "restore: cannot reach PostgreSQL" >&2; return 1; }
  fi

  file="$RESTORE_WORK/$(basename "$key")"
  echo "restore: fetching $key" >&2
  s3_fetch_verified "$key" "$file" || return 1
  echo "restore: checksum ok; restoring into database '$target'" >&2
  if [ "$replace" = 1 ]; then
    pg_tool "$container" dropdb --no-password --username="$user" --if-exists --force "$target" || return 1
  fi
  pg_tool "$container" createdb --no-password --username="$user" --template=template0 "$target" || return 1
  if ! pg_tool "$container" pg_restore --no-password --username="$user" --dbname="$target" \
    --single-transaction --exit-on-error --no-owner --no-privileges <"$file"; then
    echo "restore: pg_restore failed; dropping the incomplete database '$target'" >&2
    pg_tool "$container" dropdb --no-password --username="$user" --if-exists "$target" || true
    rm -f "$file"
    return 1
  fi
  rm -f "$file"
  echo "restore: restored $key into database '$target'" >&2
}

# restore_redis <container> <output> <key|"">: the `redis` command.
restore_redis() {
  local container=$1 output=$2 key=$3
  if [ -z "$key" ] && ! key=$(s3_newest_complete "redis-$container" rdb); then
    echo "restore: no complete backup of redis '$container' under s3://$S3_BUCKET/$S3_PREFIX" >&2
    return 1
  fi
  echo "restore: fetching $key" >&2
  s3_fetch_verified "$key" "$output.partial" || return 1
  mv "$output.partial" "$output"
  echo "restore: checksum ok; wrote $output" >&2
}

restore_usage() {
  sed -n 's/^#   \(\/opt.*\)/  \1/p' "${BASH_SOURCE[0]}" | sed 's|/opt/vps-jobs/<app>-<env>-backup/||' >&2
  return 2
}

restore_main() {
  local here command kind name into="" output="" key="" replace=0 env_file=""
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  if [ "${1:-}" = --env-file ]; then
    env_file=${2:-}
    shift 2 || { restore_usage; return 2; }
  elif [ -z "${S3_BUCKET:-}" ]; then
    env_file="/etc/vps-jobs/$(basename "$here").env"
  fi
  if [ -n "$env_file" ]; then
    [ -r "$env_file" ] || { echo "restore: cannot read the env file $env_file" >&2; return 2; }
    # The env file is KEY="value" lines quoted for both systemd and bash (ScheduledJob).
    set -a
    # shellcheck disable=SC1090 # chosen at run time
    . "$env_file"
    set +a
  fi
  # shellcheck disable=SC1091 # installed side by side; lint checks each file on its own
  . "$here/s3.sh"
  s3_init || return 2
  command=${1:-}
  shift || true
  case "$command" in
    list)
      [ "$#" -eq 2 ] || { restore_usage; return 2; }
      case "$1" in
        postgres) s3_list_complete "postgres-$2" dump ;;
        redis) s3_list_complete "redis-$2" rdb ;;
        *) restore_usage; return 2 ;;
      esac
      return
      ;;
    postgres | redis) kind=$command ;;
    *) restore_usage; return 2 ;;
  esac
  name=${1:-}
  shift || true
  [ -n "$name" ] || { restore_usage; return 2; }
  while [ "$#" -gt 0 ]; do
    case "$1" in
      --into) into=${2:-}; shift 2 || { restore_usage; return 2; } ;;
      --output) output=${2:-}; shift 2 || { restore_usage; return 2; } ;;
      --key) key=${2:-}; shift 2 || { restore_usage; return 2; } ;;
      --replace) replace=1; shift ;;
      *) restore_usage; return 2 ;;
    esac
  done
  RESTORE_WORK=$(mktemp -d "${STATE_DIRECTORY:-${TMPDIR:-/tmp}}/restore.XXXXXX")
  # shellcheck disable=SC2064 # the directory is fixed now
  trap "rm -rf '$RESTORE_WORK'" EXIT
  if [ "$kind" = postgres ]; then
    [ -n "$into" ] || { restore_usage; return 2; }
    restore_postgres "$name" "$into" "$key" "$replace"
  else
    [ -n "$output" ] || { restore_usage; return 2; }
    restore_redis "$name" "$output" "$key"
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  restore_main "$@"
fi
