#!/usr/bin/env bash
# Proves that the backups restore and are fresh. Two modes (RESTORE_CHECK_MODE):
#
# restore (default; the weekly RestoreCheck job): for each PostgreSQL database, fetches the
# newest complete backup, verifies its SHA-256 against the sidecar, restores it into a
# scratch database "<database>_restore_check" (replaced if left over, dropped afterwards),
# runs a smoke query, and reports the outcome to the alert webhook, pass or fail.
#
# freshness (the daily <app>-<env>-backup-freshness job): only lists the bucket. For each
# PostgreSQL database and each Redis instance it finds the newest complete backup and
# checks its age; nothing is downloaded, restored or created. A stale or missing backup is
# alerted (one message per run naming every problem); a pass goes to the journal only
# (stderr), so a healthy environment does not post a message every day. It exists because
# a backup timer that stops silently would otherwise be noticed by the weekly check only,
# up to a week late.
#
# Freshness (both modes): the check fails when the newest complete backup (sidecar present,
# see s3.sh; its time is the stamp in its key) is older than MAX_BACKUP_AGE_HOURS.
# Incomplete uploads (no sidecar) never count, so a cut-short backup cannot make the data
# look fresh. Restore mode checks the PostgreSQL databases only.
#
# Environment (the job's root-only env file):
#   RESTORE_CHECK_MODE         restore (default) | freshness (above)
#   BACKUP_POSTGRES            space-separated "<container>:<database>:<user>" entries;
#                              required in restore mode (freshness uses the database only)
#   BACKUP_REDIS               space-separated Redis container names, as backup.sh; read in
#                              freshness mode only (backups "redis-<container>-<stamp>.rdb").
#                              Freshness mode needs BACKUP_POSTGRES or BACKUP_REDIS.
#   DB_ACCESS                  docker (default, the VPS) | local (tests): see backup.sh
#   MAX_BACKUP_AGE_HOURS       default 26 (a daily backup plus two hours of slack)
#   RESTORE_CHECK_SMOKE_QUERY  SQL run in the restored database; passes when it prints one
#                              value that is not empty, 0, f or false. Default: the number
#                              of user tables (a dump of an empty schema fails).
#   S3_* (s3.sh), ALERT_WEBHOOK_URL, ALERT_WEBHOOK_FORMAT, ALERT_PREFIX (notify.sh)
#   RESTORE_CHECK_NOW          optional ISO time used as "now" for the age (tests)
#
# Needs on the VPS: what restore.sh needs (bash, coreutils, rclone, docker) and curl;
# freshness mode uses only rclone (a listing per source) and curl.
# The scratch restore needs free disk for the dump (in $STATE_DIRECTORY, else $TMPDIR or
# /tmp) and for the restored database inside the PostgreSQL volume.
#
# Exit status: 0 every check passed (restore mode: and was reported); 1 a check failed
# (alert sent); 2 bad configuration; 4 (restore mode) every check passed but the webhook
# did not take the report.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Installed side by side; `npm run lint` checks each file on its own (no shellcheck -x).
# shellcheck disable=SC1091
. "$here/notify.sh"
# shellcheck disable=SC1091
. "$here/s3.sh"
# shellcheck disable=SC1091
. "$here/restore.sh"

mode=${RESTORE_CHECK_MODE:-restore}
job="restore check"
[ "$mode" != freshness ] || job="backup freshness check"

fail_config() {
  notify failure "$job not run: $1" || true
  exit 2
}

case "$mode" in
  restore | freshness) ;;
  *) fail_config "RESTORE_CHECK_MODE must be restore or freshness, got '$mode'" ;;
esac
s3_init || fail_config "the object store is not configured (see the log)"
case "${DB_ACCESS:-docker}" in
  docker | local) ;;
  *) fail_config "DB_ACCESS must be docker or local, got '${DB_ACCESS}'" ;;
esac
read -r -a postgres_entries <<<"${BACKUP_POSTGRES:-}"
redis_entries=()
if [ "$mode" = freshness ]; then
  read -r -a redis_entries <<<"${BACKUP_REDIS:-}"
  if [ "${#postgres_entries[@]}" -eq 0 ] && [ "${#redis_entries[@]}" -eq 0 ]; then
    fail_config "BACKUP_POSTGRES and BACKUP_REDIS are both empty"
  fi
else
  [ "${#postgres_entries[@]}" -gt 0 ] || fail_config "BACKUP_POSTGRES is empty"
fi
max_age_hours=${MAX_BACKUP_AGE_HOURS:-26}
[[ "$max_age_hours" =~ ^[1-9][0-9]*$ ]] || fail_config "MAX_BACKUP_AGE_HOURS must be a whole number of hours, got '$max_age_hours'"
smoke_query=${RESTORE_CHECK_SMOKE_QUERY:-"SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"}
now=$(date -u -d "${RESTORE_CHECK_NOW:-now}" +%s) || fail_config "RESTORE_CHECK_NOW is not a date"

# Freshness mode keeps only tools' error output here; restore mode also the downloaded dump.
RESTORE_WORK=$(mktemp -d "${STATE_DIRECTORY:-${TMPDIR:-/tmp}}/restore-check.XXXXXX")
trap 'rm -rf "$RESTORE_WORK"' EXIT

failures=()
passed=()

# newest_fresh <label> <name> <ext>: sets key and age_hours to the newest complete backup
# of <name>. Returns 1, with the problem in failures, when there is none; 2 when it is
# older than MAX_BACKUP_AGE_HOURS (compared in seconds, not floored hours).
newest_fresh() {
  local label=$1 name=$2 ext=$3 age_seconds
  if ! key=$(s3_newest_complete "$name" "$ext" 2>"$RESTORE_WORK/err"); then
    failures+=("$label: no complete backup found under s3://$S3_BUCKET/$S3_PREFIX $(tail -n 2 "$RESTORE_WORK/err" | tr '\n' ' ')")
    return 1
  fi
  age_seconds=$((now - $(s3_key_stamp_epoch "$key")))
  age_hours=$((age_seconds / 3600))
  if [ "$age_seconds" -gt $((max_age_hours * 3600)) ]; then
    failures+=("$label: the newest complete backup is ${age_hours} h old (limit ${max_age_hours} h): $key")
    return 2
  fi
}

if [ "$mode" = freshness ]; then
  for entry in "${postgres_entries[@]}"; do
    IFS=: read -r _ database _ <<<"$entry"
    if [ -z "$database" ]; then
      failures+=("BACKUP_POSTGRES entry '$entry' is not <container>:<database>:<user>")
      continue
    fi
    if newest_fresh "postgres $database" "postgres-$database" dump; then
      passed+=("postgres $database: $key (${age_hours} h old)")
    fi
  done
  for container in "${redis_entries[@]}"; do
    if newest_fresh "redis $container" "redis-$container" rdb; then
      passed+=("redis $container: $key (${age_hours} h old)")
    fi
  done
  if [ "${#failures[@]}" -gt 0 ]; then
    notify_failed_run "backup freshness check" fresh "${#failures[@]}" "${failures[@]}" "${passed[@]}" || true
    exit 1
  fi
  # A pass is the everyday case: the journal gets it, the webhook does not.
  echo "backup freshness check passed (limit ${max_age_hours} h): $(printf '%s; ' "${passed[@]}")" >&2
  exit 0
fi

for entry in "${postgres_entries[@]}"; do
  IFS=: read -r container database user <<<"$entry"
  if [ -z "$container" ] || [ -z "$database" ] || [ -z "$user" ]; then
    failures+=("BACKUP_POSTGRES entry '$entry' is not <container>:<database>:<user>")
    continue
  fi
  # A stale backup is still restored: the report says both whether it is old and whether it restores.
  newest_fresh "postgres $database" "postgres-$database" dump || [ $? -eq 2 ] || continue

  scratch="${database:0:49}_restore_check"
  started=$(date +%s)
  if ! restore_postgres "$database" "$scratch" "$key" 1 2>"$RESTORE_WORK/err"; then
    failures+=("postgres $database: restore of $key failed: $(tail -n 3 "$RESTORE_WORK/err" | tr '\n' ' ' | cut -c1-400)")
    continue
  fi
  seconds=$(($(date +%s) - started))
  if ! result=$(pg_tool "$container" psql --no-password --username="$user" --dbname="$scratch" \
    -v ON_ERROR_STOP=1 -tAc "$smoke_query" 2>"$RESTORE_WORK/err"); then
    failures+=("postgres $database: smoke query failed on the restored copy: $(tail -n 2 "$RESTORE_WORK/err" | tr '\n' ' ')")
  else
    case "$result" in
      "" | 0 | f | false) failures+=("postgres $database: smoke query on the restored copy returned '${result}'") ;;
      *) passed+=("postgres $database: $key (${age_hours} h old) restored in ${seconds}s, smoke query: $result") ;;
    esac
  fi
  pg_tool "$container" dropdb --no-password --username="$user" --if-exists --force "$scratch" 2>/dev/null ||
    failures+=("postgres $database: could not drop the scratch database $scratch")
done

if [ "${#failures[@]}" -gt 0 ]; then
  notify_failed_run "restore check" "restored fine" "${#failures[@]}" "${failures[@]}" "${passed[@]}" || true
  exit 1
fi
if ! notify ok "restore check passed: $(printf '%s; ' "${passed[@]}")"; then
  echo "restore-check: every check passed, but the webhook did not take the report" >&2
  exit 4
fi
