#!/usr/bin/env bash
# Proves that the backups restore: for each PostgreSQL database, fetches the newest
# complete backup, verifies its SHA-256 against the sidecar, restores it into a scratch
# database "<database>_restore_check" (replaced if left over, dropped afterwards), runs a
# smoke query, and reports to the alert webhook. Installed and run weekly by the
# RestoreCheck component (systemd timer).
#
# Freshness: the check fails when the newest complete backup (sidecar present, see s3.sh;
# its time is the stamp in its key) is older than MAX_BACKUP_AGE_HOURS. Incomplete uploads
# (no sidecar) never count, so a cut-short backup cannot make the data look fresh.
#
# Environment (the job's root-only env file):
#   BACKUP_POSTGRES            space-separated "<container>:<database>:<user>" entries
#   DB_ACCESS                  docker (default, the VPS) | local (tests): see backup.sh
#   MAX_BACKUP_AGE_HOURS       default 26 (a daily backup plus two hours of slack)
#   RESTORE_CHECK_SMOKE_QUERY  SQL run in the restored database; passes when it prints one
#                              value that is not empty, 0, f or false. Default: the number
#                              of user tables (a dump of an empty schema fails).
#   S3_* (s3.sh), ALERT_WEBHOOK_URL, ALERT_WEBHOOK_FORMAT, ALERT_PREFIX (notify.sh)
#   RESTORE_CHECK_NOW          optional ISO time used as "now" for the age (tests)
#
# Needs on the VPS: what restore.sh needs (bash, coreutils, rclone, docker) and curl.
# The scratch restore needs free disk for the dump (in $STATE_DIRECTORY, else $TMPDIR or
# /tmp) and for the restored database inside the PostgreSQL volume.
#
# Exit status: 0 every check passed and was reported; 1 a check failed (alert sent);
# 2 bad configuration; 4 every check passed but the webhook did not take the report.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Installed side by side; `npm run lint` checks each file on its own (no shellcheck -x).
# shellcheck disable=SC1091
. "$here/notify.sh"
# shellcheck disable=SC1091
. "$here/s3.sh"
# shellcheck disable=SC1091
. "$here/restore.sh"

fail_config() {
  notify failure "restore check not run: $1" || true
  exit 2
}

s3_init || fail_config "the object store is not configured (see the log)"
case "${DB_ACCESS:-docker}" in
  docker | local) ;;
  *) fail_config "DB_ACCESS must be docker or local, got '${DB_ACCESS}'" ;;
esac
read -r -a postgres_entries <<<"${BACKUP_POSTGRES:-}"
[ "${#postgres_entries[@]}" -gt 0 ] || fail_config "BACKUP_POSTGRES is empty"
max_age_hours=${MAX_BACKUP_AGE_HOURS:-26}
[[ "$max_age_hours" =~ ^[1-9][0-9]*$ ]] || fail_config "MAX_BACKUP_AGE_HOURS must be a whole number of hours, got '$max_age_hours'"
smoke_query=${RESTORE_CHECK_SMOKE_QUERY:-"SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"}
now=$(date -u -d "${RESTORE_CHECK_NOW:-now}" +%s) || fail_config "RESTORE_CHECK_NOW is not a date"

RESTORE_WORK=$(mktemp -d "${STATE_DIRECTORY:-${TMPDIR:-/tmp}}/restore-check.XXXXXX")
trap 'rm -rf "$RESTORE_WORK"' EXIT

failures=()
passed=()

for entry in "${postgres_entries[@]}"; do
  IFS=: read -r container database user <<<"$entry"
  if [ -z "$container" ] || [ -z "$database" ] || [ -z "$user" ]; then
    failures+=("BACKUP_POSTGRES entry '$entry' is not <container>:<database>:<user>")
    continue
  fi
  if ! key=$(s3_newest_complete "postgres-$database" dump 2>"$RESTORE_WORK/err"); then
    failures+=("postgres $database: no complete backup found under s3://$S3_BUCKET/$S3_PREFIX $(tail -n 2 "$RESTORE_WORK/err" | tr '\n' ' ')")
    continue
  fi
  age_seconds=$((now - $(s3_key_stamp_epoch "$key")))
  age_hours=$((age_seconds / 3600))
  if [ "$age_seconds" -gt $((max_age_hours * 3600)) ]; then
    failures+=("postgres $database: the newest complete backup is ${age_hours} h old (limit ${max_age_hours} h): $key")
  fi

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
  message="restore check FAILED: $(printf '%s; ' "${failures[@]}")"
  [ "${#passed[@]}" -eq 0 ] || message+=" restored fine: $(printf '%s; ' "${passed[@]}")"
  notify failure "$message" || true
  exit 1
fi
if ! notify ok "restore check passed: $(printf '%s; ' "${passed[@]}")"; then
  echo "restore-check: every check passed, but the webhook did not take the report" >&2
  exit 4
fi
