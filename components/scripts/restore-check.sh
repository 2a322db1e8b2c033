#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Proves that the backups restore and are fresh. Two modes (RESTORE_CHECK_MODE):
#
# restore (default; the weekly RestoreCheck job): for each PostgreSQL database, fetches the
# newest complete backup, verifies its SHA-256 against the sidecar, restores it into a
# scratch database "<database>_restore_check" (a leftover one is dropped first, it is
# dropped afterwards), runs a smoke query; for each Redis instance, fetches and verifies
# the newest complete RDB snapshot, loads it into a scratch redis-server (no network, no
# persistence; DB_ACCESS=docker: a `docker run --rm --network none` of the Redis
# container's own image) and compares the keys it loaded with the count recorded at backup
# time (<key>.manifest); for each service volume, fetches and verifies the newest complete
# archive, extracts it into a scratch directory (tar must exit 0) and compares the entries it
# holds with the count recorded at backup time. When the newest backup does not verify, the check fails and says
# so, and restores the newest one that does (restore.sh's fallback) to tell whether any
# backup is good. It reports the outcome to the alert webhook, pass or fail.
#
# freshness (the daily <app>-<env>-backup-freshness job): only lists the bucket. For each
# PostgreSQL database, Redis instance and service volume it finds the newest complete backup and
# checks its age; nothing is downloaded, restored or created. A stale or missing backup is
# alerted (one message per run naming every problem; again after ALERT_REMINDER_MINUTES
# while it lasts; a RESOLVED notice when it is gone, with a state directory); a pass goes
# to the journal only (stderr), so a healthy environment does not post a message every
# day. It exists because a backup timer that stops silently would otherwise be noticed by
# the weekly check only, up to a week late.
#
# Freshness (both modes): the check fails when the newest complete backup (sidecar present,
# see s3.sh; its time is the stamp in its key) is older than MAX_BACKUP_AGE_HOURS.
# Incomplete uploads (no sidecar) never count, so a cut-short backup cannot make the data
# look fresh. A backup stamped more than S3_CLOCK_SKEW_SECONDS after now was written by a
# wrong clock: it is never the newest, and it is alerted as a clock problem (a backup stamped
# in 2036 would otherwise look fresh for ten years).
#
# Environment (the job's root-only env file):
#   RESTORE_CHECK_MODE         restore (default) | freshness (above)
#   BACKUP_POSTGRES            space-separated "<container>:<database>:<user>" entries;
#                              required in restore mode (freshness uses the database only)
#   BACKUP_REDIS               space-separated Redis container names, as backup.sh (backups
#                              "redis-<container>-<stamp>-<run>.rdb").
#   BACKUP_VOLUMES             space-separated Docker volume names, as backup.sh (backups
#                              "volume-<volume>-<stamp>-<run>.tar")
#                              Both modes need BACKUP_POSTGRES, BACKUP_REDIS or BACKUP_VOLUMES.
#   DB_ACCESS                  docker (default, the VPS) | local (tests): see backup.sh
#   MAX_BACKUP_AGE_HOURS       default 26 (a daily backup plus two hours of slack)
#   RESTORE_CHECK_SMOKE_QUERY  SQL run in the restored database; passes when it prints one
#                              value that is not empty, 0, f or false. Default: the number
#                              of user tables (a dump of an empty schema fails).
#   S3_* (s3.sh), ALERT_WEBHOOK_URL, ALERT_WEBHOOK_FORMAT, ALERT_PREFIX (notify.sh)
#   RESTORE_CHECK_NOW          optional ISO time used as "now" for the age (tests)
#
# Needs on the VPS: what restore.sh needs (bash, coreutils, rclone, docker) and curl;
# freshness mode uses only rclone (a listing per source) and curl. The Redis check needs
# redis-server in the Redis image (DB_ACCESS=docker) or on this host (local).
# The scratch restore needs free disk for the dump (in $STATE_DIRECTORY, else $TMPDIR or
# /tmp) and for the restored database inside the PostgreSQL volume.
#
# Exit status: 0 every check passed (restore mode: and was reported); 1 a check failed
# (alert sent); 2 bad configuration; 4 (restore mode) every check passed but the webhook
# did not take the report; 128+n killed by signal n (alert sent, scratch copies dropped).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Installed side by side; shellcheck -x follows them from this directory.
# shellcheck source=notify.sh
. "$here/notify.sh"
# shellcheck source=job.sh
. "$here/job.sh"
# shellcheck source=s3.sh
. "$here/s3.sh"
# shellcheck source=restore.sh
. "$here/restore.sh"

mode=${RESTORE_CHECK_MODE:-restore}
JOB_NAME="restore check"
[ "$mode" != freshness ] || JOB_NAME="backup freshness check"

case "$mode" in
  restore | freshness) ;;
  *) job_fail_config "RESTORE_CHECK_MODE must be restore or freshness, got '$mode'" ;;
esac
job_check_backup_config
max_age_hours=${MAX_BACKUP_AGE_HOURS:-26}
[[ "$max_age_hours" =~ ^[1-9][0-9]*$ ]] || job_fail_config "MAX_BACKUP_AGE_HOURS must be a whole number of hours, got '$max_age_hours'"
smoke_query=${RESTORE_CHECK_SMOKE_QUERY:-"SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"}
now=$(date -u -d "${RESTORE_CHECK_NOW:-now}" +%s) || job_fail_config "RESTORE_CHECK_NOW is not a date"
# restore.sh's candidates are judged against the same "now".
RESTORE_NOW=$now

# Freshness mode keeps only tools' error output here; restore mode also the downloaded backups.
RESTORE_WORK=$(job_work_dir restore-check) || job_fail_config "cannot create a work directory"
trap 'rm -rf "$RESTORE_WORK"' EXIT

failures=()
passed=()
scratch_db=()

# job_cleanup (job.sh, on SIGTERM/SIGINT): drops the scratch copies this run made.
job_cleanup() {
  restore_cleanup
  if [ "${#scratch_db[@]}" -eq 3 ]; then
    pg_short "${scratch_db[0]}" dropdb --no-password --username="${scratch_db[1]}" --if-exists --force "${scratch_db[2]}" >/dev/null 2>&1 || true
  fi
}
job_trap_signals

# newest_fresh <label> <name> <ext>: sets key and age_hours to the newest complete backup
# of <name> that is not stamped in the future. Returns 1, with the problem in failures,
# when there is none; 2 when it is older than MAX_BACKUP_AGE_HOURS (compared in seconds,
# not floored hours). A backup stamped in the future is a failure of its own (clock skew).
newest_fresh() {
  local label=$1 name=$2 ext=$3 age_seconds keys future
  key=""
  if ! keys=$(s3_list_complete "$name" "$ext" 2>"$RESTORE_WORK/err"); then
    failures+=("$label: the bucket could not be listed: $(tail -n 2 "$RESTORE_WORK/err" | tr '\n' ' ')")
    return 1
  fi
  keys=$(s3_usable_keys "$now" "$keys"; printf '%s\n' "${S3_FUTURE_KEYS[@]}" >"$RESTORE_WORK/future")
  while IFS= read -r future; do
    [ -n "$future" ] || continue
    failures+=("$label: clock skew: $future is stamped $(((($(s3_key_stamp_epoch "$future") - now) + 3599) / 3600)) h in the future; it is not counted as the newest backup (check the clock of the host that wrote it, then delete it or restore it by --key)")
  done <"$RESTORE_WORK/future"
  key=$(printf '%s\n' "$keys" | tail -n 1)
  if [ -z "$key" ]; then
    failures+=("$label: no complete backup found under s3://$S3_BUCKET/$S3_PREFIX")
    return 1
  fi
  age_seconds=$((now - $(s3_key_stamp_epoch "$key")))
  age_hours=$((age_seconds / 3600))
  if [ "$age_seconds" -gt $((max_age_hours * 3600)) ]; then
    failures+=("$label: the newest complete backup is ${age_hours} h old (limit ${max_age_hours} h): $key")
    return 2
  fi
}

# fresh_or_alerted <label> <name> <ext>: the freshness verdict of one source: passed, or its
# problems recorded as one alert.
fresh_or_alerted() {
  local before=${#failures[@]}
  if newest_fresh "$1" "$2" "$3" && [ "${#failures[@]}" -eq "$before" ]; then
    passed+=("$1: $key (${age_hours} h old)")
  fi
  [ "${#failures[@]}" -eq "$before" ] || alerts_problem "$1" "$1"
}

if [ "$mode" = freshness ]; then
  for entry in "${postgres_entries[@]}"; do
    IFS=: read -r _ database _ <<<"$entry"
    if [ -z "$database" ]; then
      failures+=("BACKUP_POSTGRES entry '$entry' is not <container>:<database>:<user>")
      continue
    fi
    fresh_or_alerted "postgres $database" "postgres-$database" dump
  done
  for container in "${redis_entries[@]}"; do
    fresh_or_alerted "redis $container" "redis-$container" rdb
  done
  for volume in "${volume_entries[@]}"; do
    fresh_or_alerted "volume $volume" "volume-$volume" tar
  done
  if [ "${#failures[@]}" -gt 0 ]; then
    if alerts_due; then
      delivered=0
      notify_failed_run "backup freshness check" fresh "${#failures[@]}" "${failures[@]}" "${passed[@]}" && delivered=1
      alerts_sent "$delivered"
    fi
    alerts_resolve "backup freshness check" || true
    exit 1
  fi
  alerts_resolve "backup freshness check" || true
  # A pass is the everyday case: the journal gets it, the webhook does not.
  echo "backup freshness check passed (limit ${max_age_hours} h): $(printf '%s; ' "${passed[@]}")" >&2
  exit 0
fi

# check_fallback <label>: a failure when restore.sh had to skip newer backups (restore_each).
check_fallback() {
  [ "${#RESTORE_SKIPPED[@]}" -eq 0 ] ||
    failures+=("$1: the newest backup does not verify, so $RESTORED_KEY was restored instead: $(printf '%s; ' "${RESTORE_SKIPPED[@]}")")
}

for entry in "${postgres_entries[@]}"; do
  IFS=: read -r container database user <<<"$entry"
  if [ -z "$container" ] || [ -z "$database" ] || [ -z "$user" ]; then
    failures+=("BACKUP_POSTGRES entry '$entry' is not <container>:<database>:<user>")
    continue
  fi
  # A stale backup is still restored: the report says both whether it is old and whether it restores.
  newest_fresh "postgres $database" "postgres-$database" dump || [ $? -eq 2 ] || continue

  scratch="${database:0:49}_restore_check"
  scratch_db=("$container" "$user" "$scratch")
  JOB_DOING="restoring postgres $database into $scratch"
  started=$(date +%s)
  # The scratch database is this job's own: a leftover of an interrupted run is dropped.
  if ! pg_short "$container" dropdb --no-password --username="$user" --if-exists --force "$scratch" 2>"$RESTORE_WORK/err"; then
    failures+=("postgres $database: restore of $key not tried: $(pg_explain_error "$RESTORE_WORK/err" "$user")")
    continue
  fi
  if ! restore_postgres "$database" "$scratch" "" 0 2>"$RESTORE_WORK/err"; then
    failures+=("postgres $database: restore of $key failed: $(tail -n 3 "$RESTORE_WORK/err" | tr '\n' ' ' | cut -c1-400)")
    continue
  fi
  check_fallback "postgres $database"
  seconds=$(($(date +%s) - started))
  if ! result=$(pg_short "$container" psql --no-password --username="$user" --dbname="$scratch" \
    -v ON_ERROR_STOP=1 -tAc "$smoke_query" 2>"$RESTORE_WORK/err"); then
    failures+=("postgres $database: smoke query failed on the restored copy: $(tail -n 2 "$RESTORE_WORK/err" | tr '\n' ' ')")
  else
    case "$result" in
      "" | 0 | f | false) failures+=("postgres $database: smoke query on the restored copy returned '${result}'") ;;
      *) passed+=("postgres $database: $RESTORED_KEY (${age_hours} h old) restored in ${seconds}s, smoke query: $result") ;;
    esac
  fi
  pg_short "$container" dropdb --no-password --username="$user" --if-exists --force "$scratch" 2>/dev/null ||
    failures+=("postgres $database: could not drop the scratch database $scratch")
  scratch_db=()
  JOB_DOING=""
done

# redis_scratch_load <container> <rdb>: loads the RDB into a scratch redis-server without
# network or persistence and prints "keys loaded: N, keys expired: M" from its log.
redis_scratch_load() {
  local container=$1 file=$2 image
  # shellcheck disable=SC2016 # expanded by the scratch shell
  local script='d=$(mktemp -d) && cat >"$d/dump.rdb" || exit 1
redis-server --port 0 --unixsocket "$d/s" --dir "$d" --dbfilename dump.rdb --save "" --appendonly no --logfile "$d/log" >/dev/null 2>&1 &
p=$!
while kill -0 "$p" 2>/dev/null && [ "$(redis-cli -s "$d/s" ping 2>/dev/null)" != PONG ]; do sleep 0.2; done
grep -o "keys loaded: [0-9]*, keys expired: [0-9]*" "$d/log"; s=$?
kill "$p" 2>/dev/null; wait "$p" 2>/dev/null
[ "$s" -eq 0 ] || tail -n 5 "$d/log" >&2
rm -rf "$d"; exit "$s"'
  if [ "${DB_ACCESS:-docker}" = docker ]; then
    image=$(job_docker "${DOCKER_TIMEOUT_SECONDS:-60}" inspect --format '{{.Config.Image}}' "$container") || return 1
    job_docker "${DB_TOOL_TIMEOUT_SECONDS:-3300}" run --rm -i --network none --entrypoint sh "$image" -c "$script" <"$file"
  else
    timeout --kill-after=5 "${DB_TOOL_TIMEOUT_SECONDS:-3300}" sh -c "$script" <"$file"
  fi
}

for container in "${redis_entries[@]}"; do
  newest_fresh "redis $container" "redis-$container" rdb || [ $? -eq 2 ] || continue
  JOB_DOING="loading redis $container into a scratch redis-server"
  file="$RESTORE_WORK/redis.rdb"
  if ! restore_redis "$container" "$file" "" 2>"$RESTORE_WORK/err"; then
    failures+=("redis $container: fetch of $key failed: $(tail -n 3 "$RESTORE_WORK/err" | tr '\n' ' ' | cut -c1-400)")
    continue
  fi
  check_fallback "redis $container"
  if ! loaded=$(redis_scratch_load "$container" "$file" 2>"$RESTORE_WORK/err"); then
    failures+=("redis $container: a scratch redis-server could not load $RESTORED_KEY: $(tail -n 3 "$RESTORE_WORK/err" | tr '\n' ' ' | cut -c1-400)")
    rm -f "$file"
    continue
  fi
  rm -f "$file"
  [[ "$loaded" =~ keys\ loaded:\ ([0-9]+),\ keys\ expired:\ ([0-9]+) ]] || loaded="keys loaded: ?, keys expired: ?"
  n_loaded=${BASH_REMATCH[1]:-0} n_expired=${BASH_REMATCH[2]:-0}
  recorded=$(s3_rclone cat "$(s3_path "$RESTORED_KEY.manifest")" 2>/dev/null | sed -n 's/^redis_keys=\([0-9][0-9]*\)$/\1/p')
  if [ -z "$recorded" ]; then
    passed+=("redis $container: $RESTORED_KEY (${age_hours} h old) loaded $n_loaded keys ($n_expired expired since); no key count was recorded at backup time to compare")
  elif [ $((n_loaded + n_expired)) -ne "$recorded" ]; then
    failures+=("redis $container: the scratch load of $RESTORED_KEY has $n_loaded keys and $n_expired expired ones, but the backup recorded $recorded keys")
  else
    passed+=("redis $container: $RESTORED_KEY (${age_hours} h old) loaded $n_loaded keys ($n_expired expired since), as recorded at backup time")
  fi
  JOB_DOING=""
done

for volume in "${volume_entries[@]}"; do
  newest_fresh "volume $volume" "volume-$volume" tar || [ $? -eq 2 ] || continue
  JOB_DOING="extracting volume $volume into a scratch directory"
  scratch="$RESTORE_WORK/volume-scratch"
  rm -rf "$scratch"
  if ! restore_volume "$volume" "$scratch" "" 0 2>"$RESTORE_WORK/err"; then
    failures+=("volume $volume: restore of $key failed: $(tail -n 3 "$RESTORE_WORK/err" | tr '\n' ' ' | cut -c1-400)")
    rm -rf "$scratch"
    continue
  fi
  check_fallback "volume $volume"
  extracted=$(find "$scratch" -mindepth 1 -printf x | wc -c)
  rm -rf "$scratch"
  recorded=$(s3_rclone cat "$(s3_path "$RESTORED_KEY.manifest")" 2>/dev/null | sed -n 's/^volume_files=\([0-9][0-9]*\)$/\1/p')
  if [ -z "$recorded" ]; then
    failures+=("volume $volume: $RESTORED_KEY extracted $extracted entries, but no entry count was recorded at backup time to compare")
  elif [ "$extracted" -ne "$recorded" ]; then
    failures+=("volume $volume: the scratch extraction of $RESTORED_KEY holds $extracted entries, but the backup recorded $recorded")
  else
    passed+=("volume $volume: $RESTORED_KEY (${age_hours} h old) extracted $extracted entries, as recorded at backup time")
  fi
  JOB_DOING=""
done

if [ "${#failures[@]}" -gt 0 ]; then
  notify_failed_run "restore check" "restored fine" "${#failures[@]}" "${failures[@]}" "${passed[@]}" || true
  exit 1
fi
if ! notify ok "restore check passed: $(printf '%s; ' "${passed[@]}")"; then
  echo "restore-check: every check passed, but the webhook did not take the report" >&2
  exit 4
fi
