#!/usr/bin/env bash
# Backs up every PostgreSQL database and Redis instance of one environment to its bucket,
# then reports success or failure to the environment's alert webhook. Installed and run
# daily by the BackupJob component (systemd timer); can be run by hand with the same env file.
#
# What it does, per PostgreSQL database: `pg_dump --format=custom` (compressed) streamed
# through sha256sum into a multipart upload at <prefix>daily/postgres-<db>-<stamp>.dump;
# per Redis instance: the RDB snapshot from `redis-cli --rdb` (diskless replication sync,
# no BGSAVE on the server's disk) at <prefix>daily/redis-<container>-<stamp>.rdb. On
# Sundays the backup is also copied (server-side) to weekly/, on the 1st of a month to
# monthly/. Retention (daily 30 days, ...) is the bucket's lifecycle rules, not this script.
#
# Guarantee ("no partial object left as if complete"): a backup is complete only when its
# "<key>.sha256" sidecar exists and matches (see s3.sh). The sidecar is uploaded last,
# after the dump tool exited 0 and the stored size equals the bytes produced. On any
# failure the script deletes what it uploaded for that backup (best effort: if the store
# is unreachable, what is left has no sidecar and is ignored by restore.sh and the
# freshness check). Each database is attempted even when an earlier one failed.
#
# How the databases are reached (DB_ACCESS):
#   docker  (default, the VPS)  `docker exec -i <container> pg_dump -U <user> <db>` and
#                                `docker exec <container> redis-cli --rdb ...`
#   local   (tests, bench)      pg_dump/redis-cli on this host; PostgreSQL from libpq's
#                                PGHOST/PGPORT(/PGPASSWORD), Redis from REDIS_HOST/REDIS_PORT
#                                (default 127.0.0.1:6379); the container name only names the key
#
# Environment (the job's root-only env file, /etc/vps-jobs/<unit>.env):
#   BACKUP_POSTGRES   space-separated "<container>:<database>:<user>" entries
#   BACKUP_REDIS      space-separated Redis container names (may be empty)
#   DB_ACCESS         docker | local (above)
#   S3_BUCKET, S3_PREFIX, S3_REGION, S3_ENDPOINT, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY  (s3.sh)
#   ALERT_WEBHOOK_URL, ALERT_WEBHOOK_FORMAT, ALERT_PREFIX                                  (notify.sh)
#   REDISCLI_AUTH     optional password of the Redis instances (read by redis-cli)
#   BACKUP_TIME       optional ISO time to use instead of now (the key stamp and the
#                     weekly/monthly choice), for a test or a re-run; UTC
#
# Needs on the VPS: bash, coreutils (sha256sum, mkfifo, tee, wc), rclone, curl, docker
# (DB_ACCESS=docker; pg_dump and redis-cli come from the database images).
# Needs for DB_ACCESS=local: pg_dump (postgresql-client), redis-cli (redis-tools).
#
# Exit status: 0 all backups complete and reported; 1 a backup failed (alert sent);
# 2 bad configuration; 4 all backups complete but the webhook did not take the report.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Installed side by side; `npm run lint` checks each file on its own (no shellcheck -x).
# shellcheck disable=SC1091
. "$here/notify.sh"
# shellcheck disable=SC1091
. "$here/s3.sh"
# shellcheck disable=SC1091
. "$here/db.sh"

fail_config() {
  notify failure "backup not run: $1" || true
  exit 2
}

s3_init || fail_config "the object store is not configured (see the log)"
case "${DB_ACCESS:-docker}" in
  docker | local) ;;
  *) fail_config "DB_ACCESS must be docker or local, got '${DB_ACCESS}'" ;;
esac
read -r -a postgres_entries <<<"${BACKUP_POSTGRES:-}"
read -r -a redis_entries <<<"${BACKUP_REDIS:-}"
if [ "${#postgres_entries[@]}" -eq 0 ] && [ "${#redis_entries[@]}" -eq 0 ]; then
  fail_config "BACKUP_POSTGRES and BACKUP_REDIS are both empty"
fi

now=${BACKUP_TIME:-now}
stamp=$(date -u -d "$now" +%Y%m%dT%H%M%SZ) || fail_config "BACKUP_TIME '$now' is not a date"
tiers=(daily)
[ "$(date -u -d "$now" +%u)" = 7 ] && tiers+=(weekly)
[ "$(date -u -d "$now" +%d)" = 01 ] && tiers+=(monthly)

# Only Redis snapshots touch the disk (PostgreSQL dumps stream); systemd's StateDirectory
# is on the root file system, /tmp may be a small tmpfs.
work=$(mktemp -d "${STATE_DIRECTORY:-${TMPDIR:-/tmp}}/backup.XXXXXX")
trap 'rm -rf "$work"' EXIT

failures=()
done_lines=()


# redis_rdb <container> <file>: writes the instance's RDB snapshot to <file>.
# redis-cli writes to a file, not stdout: on stdout a diskless sync leaves the 40-byte
# EOF mark after the RDB, which only a file can be truncated to.
redis_rdb() {
  local container=$1 file=$2
  local pass_auth=()
  # A password-protected Redis: REDISCLI_AUTH goes through the environment, never argv.
  [ -z "${REDISCLI_AUTH:-}" ] || pass_auth=(-e REDISCLI_AUTH)
  if [ "${DB_ACCESS:-docker}" = docker ]; then
    # shellcheck disable=SC2016 # expanded by the container's shell
    docker exec "${pass_auth[@]}" "$container" sh -c \
      'f=$(mktemp) && redis-cli --rdb "$f" >&2 && cat "$f"; s=$?; rm -f "$f"; exit $s' >"$file"
  else
    redis-cli -h "${REDIS_HOST:-127.0.0.1}" -p "${REDIS_PORT:-6379}" --rdb "$file" >&2
  fi
}

# human <bytes>: a size for a person.
human() {
  if [ "$1" -ge 1048576 ]; then
    echo "$(($1 / 1048576)) MiB"
  elif [ "$1" -ge 1024 ]; then
    echo "$(($1 / 1024)) KiB"
  else
    echo "$1 B"
  fi
}

# last_lines <file>: the end of a tool's stderr, for an alert.
last_lines() {
  tail -n 3 "$1" 2>/dev/null | tr '\n' ' ' | cut -c1-400
}

# discard <key>: removes an incomplete backup and its sidecar (best effort).
discard() {
  s3_delete "$1.sha256" 2>>"$work/discard.err" || true
  s3_delete "$1" 2>>"$work/discard.err" || true
}

# backup_stream <name> <ext> <command...>: uploads the command's stdout as the backup
# <name>, sidecar last, then copies it into the weekly/monthly tiers. Records the outcome
# in failures/done_lines; returns non-zero on failure.
backup_stream() {
  local name=$1 ext=$2
  shift 2
  local base="$name-$stamp.$ext" key sha size stored started elapsed tier
  key="${S3_PREFIX}daily/$base"
  started=$(date +%s)
  rm -f "$work/sha.fifo" "$work/size.fifo" "$work/"*.err
  mkfifo "$work/sha.fifo" "$work/size.fifo"
  sha256sum <"$work/sha.fifo" >"$work/sha" &
  local sha_pid=$!
  wc -c <"$work/size.fifo" >"$work/size" &
  local size_pid=$!

  local status
  set +e
  "$@" 2>"$work/producer.err" | tee "$work/sha.fifo" "$work/size.fifo" | s3_put_stream "$key" 2>"$work/upload.err"
  status=("${PIPESTATUS[@]}")
  set -e
  if [ "${status[0]}" -ne 0 ] || [ "${status[1]}" -ne 0 ] || [ "${status[2]}" -ne 0 ]; then
    kill "$sha_pid" "$size_pid" 2>/dev/null || true
    wait "$sha_pid" "$size_pid" 2>/dev/null || true
    discard "$key"
    # An upload that stops makes tee and the dump die of SIGPIPE: name the upload first.
    if [ "${status[2]}" -ne 0 ]; then
      failures+=("$name: upload to $key failed (exit ${status[2]}): $(last_lines "$work/upload.err")")
    elif [ "${status[0]}" -ne 0 ]; then
      failures+=("$name: dump failed (exit ${status[0]}): $(last_lines "$work/producer.err")")
    else
      failures+=("$name: tee to the checksum failed (exit ${status[1]})")
    fi
    return 1
  fi
  wait "$sha_pid" "$size_pid"
  sha=$(cut -d' ' -f1 <"$work/sha")
  size=$(tr -d ' ' <"$work/size")

  if [ "$size" -eq 0 ]; then
    discard "$key"
    failures+=("$name: the dump was empty")
    return 1
  fi
  if ! stored=$(s3_size "$key" 2>"$work/upload.err") || [ "$stored" != "$size" ]; then
    discard "$key"
    failures+=("$name: stored size '${stored:-?}' differs from the $size bytes dumped $(last_lines "$work/upload.err")")
    return 1
  fi
  if ! printf '%s  %s\n' "$sha" "$base" | s3_put_stream "$key.sha256" 2>"$work/upload.err"; then
    discard "$key"
    failures+=("$name: sidecar upload failed: $(last_lines "$work/upload.err")")
    return 1
  fi

  for tier in "${tiers[@]:1}"; do
    local copy="${S3_PREFIX}$tier/$base"
    if ! s3_copy "$key" "$copy" 2>"$work/upload.err" ||
      ! s3_copy "$key.sha256" "$copy.sha256" 2>>"$work/upload.err"; then
      discard "$copy"
      failures+=("$name: $tier copy failed (the daily backup is complete): $(last_lines "$work/upload.err")")
      return 1
    fi
  done
  elapsed=$(($(date +%s) - started))
  done_lines+=("$name $(human "$size") in ${elapsed}s (sha256 ${sha:0:12}, ${tiers[*]})")
}

for entry in "${postgres_entries[@]}"; do
  IFS=: read -r container database user <<<"$entry"
  if [ -z "$container" ] || [ -z "$database" ] || [ -z "$user" ]; then
    failures+=("BACKUP_POSTGRES entry '$entry' is not <container>:<database>:<user>")
    continue
  fi
  backup_stream "postgres-$database" dump \
    pg_tool "$container" pg_dump --format=custom --no-password --username="$user" --dbname="$database" || true
done

for container in "${redis_entries[@]}"; do
  if ! redis_rdb "$container" "$work/redis.rdb" 2>"$work/redis.err" || [ ! -s "$work/redis.rdb" ]; then
    failures+=("redis-$container: snapshot failed: $(last_lines "$work/redis.err")")
    continue
  fi
  backup_stream "redis-$container" rdb cat "$work/redis.rdb" || true
  rm -f "$work/redis.rdb"
done

target="s3://$S3_BUCKET/${S3_PREFIX}"
if [ "${#failures[@]}" -gt 0 ]; then
  notify_failed_run "backup $stamp to $target" completed "${#failures[@]}" "${failures[@]}" "${done_lines[@]}" || true
  exit 1
fi
if ! notify ok "backup $stamp to $target: $(printf '%s; ' "${done_lines[@]}")"; then
  echo "backup: all backups are complete, but the webhook did not take the report" >&2
  exit 4
fi
