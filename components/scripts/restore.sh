#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Restores a backup written by backup.sh: fetches it (the newest complete one, or a given
# key), verifies its SHA-256 against the sidecar, and restores it. Nothing is put in place
# from bytes that do not match their sidecar, and nothing existing is touched until the
# restore is complete and verified.
#
# Usage (on the VPS, as root, e.g. with sudo; the BackupJob installs this file beside backup.sh):
#   /opt/vps-jobs/<app>-<env>-backup/restore.sh [--env-file <file>] list postgres <database>
#   /opt/vps-jobs/<app>-<env>-backup/restore.sh [--env-file <file>] list redis <container>
#   /opt/vps-jobs/<app>-<env>-backup/restore.sh [--env-file <file>] postgres <database> --into <target-db> [--key <key>] [--replace]
#   /opt/vps-jobs/<app>-<env>-backup/restore.sh [--env-file <file>] redis <container> --output <file.rdb> [--key <key>]
#   /opt/vps-jobs/<app>-<env>-pitr-restore-check/restore.sh pitr --to '<timestamp>' [--set <label>] [--port <port>]
#   /opt/vps-jobs/<app>-<env>-pitr-restore-check/restore.sh pitr-promote|pitr-discard <name>
#   /opt/vps-jobs/<app>-<env>-backup/restore.sh [--env-file <file>] list volume <volume>
#   /opt/vps-jobs/<app>-<env>-backup/restore.sh [--env-file <file>] volume <volume> --output <dir> [--key <key>]
#   /opt/vps-jobs/<app>-<env>-backup/restore.sh [--env-file <file>] volume <volume> --replace [--key <key>]
#
#   --env-file  the job's env file to load (bucket, credential, databases). Default: when
#               S3_BUCKET is not already set, /etc/vps-jobs/<name of this script's
#               directory>.env, i.e. the backup job's own, so `sudo .../restore.sh ...` works.
#               It is read, never executed, and refused unless owned by root and not
#               writable by group or others.
#   list        prints the keys of the complete backups, oldest first
#   postgres    restores the dump of <database> into the database <target-db>. The restore
#               goes into a new database "<target-db>_restore_<run>" (template0, pg_restore
#               --single-transaction --exit-on-error --no-owner --no-privileges: objects belong
#               to the restoring user), streamed from the store and hashed on the way; only
#               when it is complete and the whole stream matched the sidecar is it renamed
#               to <target-db> (a mismatch drops it).
#               <target-db> must not exist unless --replace is given: then, after the restore
#               is complete, the existing <target-db> is closed to new connections, its
#               sessions are ended, and in one transaction it is renamed to
#               "<target-db>_replaced_<YYYYmmddHHMMSS>" (kept: drop it yourself once the
#               restore is confirmed) and the restored database to <target-db>. An interrupted
#               or failed restore (Ctrl-C, SIGTERM, a terminated session, a full disk) drops
#               only its own new database: <target-db> stays as it was. Restoring the live
#               database is therefore: stop the back end, `--into <database> --replace`,
#               start the back end. The container and user come from BACKUP_POSTGRES.
#   redis       writes the verified RDB to <file.rdb>. To load it: stop the Redis
#               container, `docker cp <file.rdb> <container>:/data/dump.rdb`, start it
#               (with appendonly off; with AOF on, Redis loads the AOF instead).
#   volume      extracts the verified archive of the Docker volume <volume> (a service's own
#               volume) into <dir>, which must not exist: it is extracted into "<dir>.partial-<run>"
#               and renamed to <dir> only when tar exited 0 (a failure removes the partial one).
#               With --replace it goes into the volume itself: refused while a running container
#               mounts it (stop the service first); extracted beside the volume's directory, then
#               the directory is renamed to "_data.replaced-<YYYYmmddHHMMSS>" (kept: delete it once
#               the restore is confirmed) and the restored one to the volume's directory.
#   pitr, pitr-promote, pitr-discard   point-in-time recovery into a new volume, served on
#               loopback for inspection, and the explicit step that makes it the live one:
#               see pitr-restore.sh (installed with the PITR restore check, not here).
#   --key       a key relative to the bucket, as printed by `list` (any tier). Without it,
#               the newest complete backup is used; when it does not verify (checksum
#               mismatch, bad sidecar), the script says so and falls back to the next newest
#               that does. A backup stamped in the future (a wrong clock) is skipped, with a
#               message; name it with --key to restore it anyway.
#
# Environment: as backup.sh (BACKUP_POSTGRES, DB_ACCESS, S3_*, see s3.sh). A PostgreSQL
# dump streams into pg_restore (no local copy); a Redis snapshot is written to --output.
# Restoring beside the target needs room for a second copy of the database.
# Needs on the VPS: bash, coreutils, rclone, docker (DB_ACCESS=docker: createdb, dropdb,
# psql and pg_restore run in the database container); for DB_ACCESS=local the
# postgresql-client programs on this host (PGHOST/PGPORT).
#
# Exit status: 0 restored; 1 failed (nothing replaced; the partly restored new database
# dropped); 2 usage or configuration error, or the target exists without --replace;
# 130/143 interrupted (nothing replaced).
#
# Sourced by restore-check.sh for its functions: the command runs only when executed.

# pg_tool, pg_short, pg_explain_error (db.sh).
# shellcheck source=db.sh
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

# pg_sql <container> <user> <sql>: runs SQL in the postgres database; prints the rows.
pg_sql() {
  pg_short "$1" psql --no-password --username="$2" --dbname=postgres -v ON_ERROR_STOP=1 -qtAc "$3"
}

# pg_db_exists <container> <user> <database>: 0 exists, 1 does not, 2 the server could not
# be asked (the reason on stderr).
pg_db_exists() {
  local found err
  err=$(mktemp)
  if ! found=$(pg_sql "$1" "$2" "SELECT 1 FROM pg_database WHERE datname = '$3'" 2>"$err"); then
    echo "restore: $(pg_explain_error "$err" "$2")" >&2
    rm -f "$err"
    return 2
  fi
  rm -f "$err"
  [ "$found" = 1 ]
}

# restore_candidates <name> <ext>: the keys to try, newest first (RESTORE_KEY when given);
# says on stderr which backups it skips because they are stamped in the future.
restore_candidates() {
  local keys
  if [ -n "${RESTORE_KEY:-}" ]; then
    printf '%s\n' "$RESTORE_KEY"
    return 0
  fi
  keys=$(s3_list_complete "$1" "$2") || return 1
  keys=$(s3_usable_keys "${RESTORE_NOW:-$(date -u +%s)}" "$keys"; for k in "${S3_FUTURE_KEYS[@]}"; do
    echo "restore: skipping $k: it is stamped in the future (the clock of the host that wrote it was wrong); pass --key to restore it anyway" >&2
  done)
  [ -n "$keys" ] || return 1
  printf '%s\n' "$keys" | tac
}

# The directory a volume archive is being extracted into, removed when interrupted.
RESTORE_PARTIAL_DIR=""
# The database being restored and the one being replaced, for restore_cleanup.
RESTORE_NEW_DB=""
RESTORE_CLOSED_DB=""
RESTORE_PG=()

# restore_cleanup: after a failure or an interruption, drops the half-restored new database
# and reopens a target that was closed for the swap. Never touches anything else.
restore_cleanup() {
  [ "${#RESTORE_PG[@]}" -eq 2 ] || return 0
  if [ -n "$RESTORE_CLOSED_DB" ]; then
    pg_sql "${RESTORE_PG[@]}" "ALTER DATABASE \"$RESTORE_CLOSED_DB\" ALLOW_CONNECTIONS true" >/dev/null 2>&1 || true
    RESTORE_CLOSED_DB=""
  fi
  if [ -n "$RESTORE_NEW_DB" ]; then
    pg_short "${RESTORE_PG[0]}" dropdb --no-password --username="${RESTORE_PG[1]}" --if-exists --force "$RESTORE_NEW_DB" >/dev/null 2>&1 || true
    printf 'dropped the incomplete %s' "$RESTORE_NEW_DB"
    RESTORE_NEW_DB=""
  fi
}

# restore_stream <container> <user> <new-db> <key>: restores the backup <key> into the new
# database <new-db> while it streams from the store, hashing it on the way; the database
# counts only when the whole stream matched the sidecar (else it is dropped). Overlapping
# the download with pg_restore makes the restore as fast as a bare pg_restore of a local
# file, and needs no free disk for the dump; nothing is renamed to the target before the
# check passed. Status 0 restored and verified; 1 failed; 3 the backup does not verify.
restore_stream() {
  local container=$1 user=$2 fresh=$3 key=$4 expected actual status sha_status=0 full
  expected=$(s3_sidecar_sha "$key") || return
  echo "restore: restoring $key into the new database '$fresh', checking its SHA-256 as it streams" >&2
  RESTORE_NEW_DB=$fresh
  if ! pg_short "$container" createdb --no-password --username="$user" --template=template0 "$fresh"; then
    RESTORE_NEW_DB=""
    echo "restore: could not create the database '$fresh'" >&2
    return 1
  fi
  rm -f "$RESTORE_WORK/sha.fifo" "$RESTORE_WORK/sha"
  mkfifo "$RESTORE_WORK/sha.fifo" || return 1
  sha256sum <"$RESTORE_WORK/sha.fifo" >"$RESTORE_WORK/sha" &
  local sha_pid=$!
  s3_rclone cat "$(s3_path "$key")" | tee "$RESTORE_WORK/sha.fifo" |
    pg_tool "$container" pg_restore --no-password --username="$user" --dbname="$fresh" \
      --single-transaction --exit-on-error --no-owner --no-privileges
  status=("${PIPESTATUS[@]}")
  wait "$sha_pid" || sha_status=$?
  actual=$(cut -d' ' -f1 "$RESTORE_WORK/sha" 2>/dev/null) || actual=""
  if [ "${status[0]}" -ne 0 ]; then
    echo "restore: download of $key failed (rclone exit ${status[0]}); dropping the incomplete database '$fresh'" >&2
    restore_cleanup >/dev/null
    return 1
  fi
  if [ "${status[2]}" -ne 0 ]; then
    restore_cleanup >/dev/null
    # pg_restore stopped before the end of the stream: hash the whole object to tell a
    # corrupt backup from a restore that failed on good bytes.
    full=$(s3_rclone cat "$(s3_path "$key")" | sha256sum | cut -d' ' -f1)
    if [ "$full" != "$expected" ]; then
      echo "s3: checksum mismatch for $key: sidecar $expected, stored ${full:-?}" >&2
      return 3
    fi
    echo "restore: pg_restore failed (exit ${status[2]}); dropped the incomplete database '$fresh'; the target is untouched" >&2
    return 1
  fi
  if [ "${status[1]}" -ne 0 ] || [ "$sha_status" -ne 0 ] || ! [[ "$actual" =~ ^[0-9a-f]{64}$ ]]; then
    echo "restore: the SHA-256 of $key could not be computed (tee exit ${status[1]}, sha256sum exit $sha_status); dropping '$fresh'" >&2
    restore_cleanup >/dev/null
    return 1
  fi
  if [ "$actual" != "$expected" ]; then
    echo "s3: checksum mismatch for $key: sidecar $expected, downloaded $actual" >&2
    restore_cleanup >/dev/null
    return 3
  fi
  echo "restore: checksum ok (sha256 ${actual:0:12}): '$fresh' holds $key" >&2
  RESTORE_NEW_DB=$fresh
}

# restore_each <name> <ext> <command> [args...]: runs "<command> [args...] <key>" for the
# candidate backups (restore_candidates), newest first, until one succeeds, falling back to
# the next one while a backup does not verify (status 3). Sets RESTORED_KEY and
# RESTORE_SKIPPED (the keys that did not verify, with why).
restore_each() {
  local name=$1 ext=$2 candidates key status err
  shift 2
  RESTORED_KEY="" RESTORE_SKIPPED=()
  if ! candidates=$(restore_candidates "$name" "$ext"); then
    echo "restore: no complete backup of $name under s3://$S3_BUCKET/$S3_PREFIX" >&2
    return 1
  fi
  err=$(mktemp)
  while IFS= read -r key; do
    status=0
    "$@" "$key" 2>"$err" || status=$?
    cat "$err" >&2
    if [ "$status" -eq 0 ]; then
      RESTORED_KEY=$key
      [ "${#RESTORE_SKIPPED[@]}" -eq 0 ] ||
        echo "restore: falling back to $key, the newest backup that verifies (skipped: $(printf '%s; ' "${RESTORE_SKIPPED[@]}"))" >&2
      rm -f "$err"
      return 0
    fi
    if [ "$status" -ne 3 ] || [ -n "${RESTORE_KEY:-}" ]; then
      rm -f "$err"
      return 1
    fi
    RESTORE_SKIPPED+=("$key does not verify ($(tail -n 1 "$err" | sed 's/^s3: //'))")
    echo "restore: $key does not verify; trying the next newest backup" >&2
  done <<<"$candidates"
  rm -f "$err"
  echo "restore: no backup of $name verifies: $(printf '%s; ' "${RESTORE_SKIPPED[@]}")" >&2
  return 1
}

# restore_fetch_to <file> <key>: downloads and verifies <key> into <file> (restore_each's command for Redis).
restore_fetch_to() {
  echo "restore: fetching $2" >&2
  s3_fetch_verified "$2" "$1"
}

# restore_postgres <database> <target> <key|""> <replace:0|1>: the `postgres` command.
restore_postgres() {
  local database=$1 target=$2 replace=$4 container user status=0 fresh old exists=0
  RESTORE_KEY=$3
  read -r container user <<<"$(pg_entry "$database")" || return 2
  [ -n "$container" ] || return 2
  if ! valid_db_name "$target"; then
    echo "restore: target database name '$target' is not [A-Za-z_][A-Za-z0-9_-]*" >&2
    return 2
  fi
  pg_db_exists "$container" "$user" "$target" || status=$?
  case "$status" in
    0)
      exists=1
      if [ "$replace" != 1 ]; then
        echo "restore: database '$target' exists; pass --replace to restore it beside and swap it in" >&2
        return 2
      fi ;;
    1) ;;
    *) return 1 ;;
  esac

  fresh="${target:0:45}_restore_$(job_run_id)"
  RESTORE_PG=("$container" "$user")
  restore_each "postgres-$database" dump restore_stream "$container" "$user" "$fresh" || return 1
  if [ "$exists" = 1 ]; then
    old="${target:0:34}_replaced_$(date -u +%Y%m%d%H%M%S)"
    # No new sessions, end the open ones, then both renames in one transaction: a failure
    # leaves the names as they were.
    RESTORE_CLOSED_DB=$target
    if ! pg_sql "$container" "$user" "ALTER DATABASE \"$target\" ALLOW_CONNECTIONS false" >/dev/null ||
      ! pg_sql "$container" "$user" "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '$target' AND pid <> pg_backend_pid()" >/dev/null ||
      ! pg_sql "$container" "$user" "BEGIN; ALTER DATABASE \"$target\" RENAME TO \"$old\"; ALTER DATABASE \"$fresh\" RENAME TO \"$target\"; COMMIT;" >/dev/null; then
      echo "restore: could not swap the restored database in; '$target' is unchanged" >&2
      restore_cleanup >/dev/null
      return 1
    fi
    RESTORE_NEW_DB=""
    RESTORE_CLOSED_DB=""
    pg_sql "$container" "$user" "ALTER DATABASE \"$old\" ALLOW_CONNECTIONS true" >/dev/null ||
      echo "restore: note: '$old' is still closed to connections (ALTER DATABASE \"$old\" ALLOW_CONNECTIONS true)" >&2
    echo "restore: restored $RESTORED_KEY into database '$target'; the database it replaced is kept as '$old' (drop it once you have checked the restore)" >&2
  else
    if ! pg_sql "$container" "$user" "ALTER DATABASE \"$fresh\" RENAME TO \"$target\"" >/dev/null; then
      echo "restore: could not rename '$fresh' to '$target'" >&2
      restore_cleanup >/dev/null
      return 1
    fi
    RESTORE_NEW_DB=""
    echo "restore: restored $RESTORED_KEY into database '$target'" >&2
  fi
}

# restore_redis <container> <output> <key|"">: the `redis` command.
restore_redis() {
  local container=$1 output=$2
  RESTORE_KEY=$3
  restore_each "redis-$container" rdb restore_fetch_to "$output.partial" || return 1
  mv "$output.partial" "$output"
  echo "restore: checksum ok; wrote $RESTORED_KEY to $output" >&2
}

# restore_volume <volume> <dir|""> <key|""> <replace:0|1>: the `volume` command.
restore_volume() {
  local volume=$1 output=$2 replace=$4 target partial users stamp rc=0
  RESTORE_KEY=$3
  if [ "$replace" = 1 ]; then
    target=$(job_volume_dir "$volume") || return 1
    if ! users=$(job_volume_users "$volume"); then
      echo "restore: cannot list the containers of $volume" >&2
      return 1
    fi
    if [ -n "$users" ]; then
      echo "restore: the volume $volume is mounted by running containers ($(printf '%s ' "${users:0:12}")); stop the service first" >&2
      return 2
    fi
  else
    target=$output
    if [ -e "$target" ]; then
      echo "restore: $target exists; name a new directory (or use --replace to restore into the volume)" >&2
      return 2
    fi
  fi
  restore_each "volume-$volume" tar restore_fetch_to "$RESTORE_WORK/volume.tar" || return 1
  partial="${target%/}.partial-$(job_run_id)"
  RESTORE_PARTIAL_DIR=$partial
  mkdir -p "$partial" || return 1
  tar --extract --file "$RESTORE_WORK/volume.tar" --directory "$partial" --numeric-owner --same-permissions || rc=$?
  rm -f "$RESTORE_WORK/volume.tar"
  if [ "$rc" -ne 0 ]; then
    rm -rf "$partial"
    RESTORE_PARTIAL_DIR=""
    echo "restore: tar could not extract $RESTORED_KEY (exit $rc); nothing was replaced" >&2
    return 1
  fi
  if [ "$replace" = 1 ]; then
    stamp=$(date -u +%Y%m%d%H%M%S)
    if ! mv "$target" "$target.replaced-$stamp" || ! mv "$partial" "$target"; then
      [ -e "$target" ] || mv "$target.replaced-$stamp" "$target" 2>/dev/null || true
      echo "restore: could not swap the restored data into $target; it is unchanged" >&2
      return 1
    fi
    RESTORE_PARTIAL_DIR=""
    echo "restore: restored $RESTORED_KEY into the volume $volume; the data it replaced is kept as $target.replaced-$stamp (delete it once you have checked the restore)" >&2
  else
    mv "$partial" "$target" || return 1
    RESTORE_PARTIAL_DIR=""
    echo "restore: checksum ok; extracted $RESTORED_KEY into $target" >&2
  fi
}

restore_usage() {
  sed -n 's/^#   \(\/opt.*\)/  \1/p' "${BASH_SOURCE[0]}" | sed 's|/opt/vps-jobs/<app>-<env>-backup/||' >&2
  return 2
}

restore_main() {
  local here command kind name into="" output="" key="" replace=0 env_file=""
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  # shellcheck source=notify.sh
  . "$here/notify.sh"
  # shellcheck source=job.sh
  . "$here/job.sh"
  # shellcheck source=s3.sh
  . "$here/s3.sh"
  JOB_NAME=restore
  if [ "${1:-}" = --env-file ]; then
    env_file=${2:-}
    shift 2 || { restore_usage; return 2; }
  elif [ -z "${S3_BUCKET:-}" ] && [ -z "${PITR_PG_USER:-}" ]; then
    env_file="/etc/vps-jobs/$(basename "$here").env"
  fi
  if [ -n "$env_file" ]; then
    job_load_env_file "$env_file" || return 2
  fi
  job_reject_crlf || return 2
  command=${1:-}
  case "$command" in
    pitr | pitr-promote | pitr-discard)
      [ -f "$here/pitr-restore.sh" ] || { echo "restore: $command is installed with the PITR restore check: sudo /opt/vps-jobs/<app>-<env>-pitr-restore-check/restore.sh $*" >&2; return 2; }
      # shellcheck source=pitr.sh
      . "$here/pitr.sh"
      # shellcheck source=pitr-restore.sh
      . "$here/pitr-restore.sh"
      RESTORE_WORK=$(job_work_dir restore)
      # shellcheck disable=SC2064 # the directory is fixed now
      trap "rm -rf '$RESTORE_WORK'" EXIT
      job_trap_signals
      shift
      pitr_main "$command" "$@"
      return ;;
  esac
  s3_init || return 2
  shift || true
  case "$command" in
    list)
      [ "$#" -eq 2 ] || { restore_usage; return 2; }
      case "$1" in
        postgres) s3_list_complete "postgres-$2" dump ;;
        redis) s3_list_complete "redis-$2" rdb ;;
        volume) s3_list_complete "volume-$2" tar ;;
        *) restore_usage; return 2 ;;
      esac
      return
      ;;
    postgres | redis | volume) kind=$command ;;
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
  RESTORE_WORK=$(job_work_dir restore)
  # shellcheck disable=SC2064 # the directory is fixed now
  trap "rm -rf '$RESTORE_WORK'" EXIT
  job_cleanup() {
    restore_cleanup
    [ -z "$RESTORE_PARTIAL_DIR" ] || rm -rf "$RESTORE_PARTIAL_DIR"
  }
  JOB_DOING="restoring $kind $name${into:+ into $into}"
  job_trap_signals
  if [ "$kind" = postgres ]; then
    [ -n "$into" ] || { restore_usage; return 2; }
    restore_postgres "$name" "$into" "$key" "$replace"
  elif [ "$kind" = volume ]; then
    { [ -n "$output" ] && [ "$replace" = 0 ]; } || { [ -z "$output" ] && [ "$replace" = 1 ]; } || { restore_usage; return 2; }
    restore_volume "$name" "$output" "$key" "$replace"
  else
    [ -n "$output" ] || { restore_usage; return 2; }
    restore_redis "$name" "$output" "$key"
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  restore_main "$@"
fi
