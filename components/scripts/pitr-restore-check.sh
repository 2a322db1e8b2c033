#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The weekly proof that point-in-time recovery works (PointInTimeRecovery's restore-check
# timer): a restore to a chosen moment, into a cluster of its own, checked row by row.
#
# One run:
#   1. writes two markers a second apart into the live cluster's marker database and takes
#      T between them, so T is after every finished backup and the restore replays the whole
#      WAL chain from the set to now;
#   2. picks the backup set itself: the newest verified set that ends before T (with an
#      explicit --set pgBackRest checks nothing, so the choice is checked here);
#   3. switches WAL and waits until the segment holding the second marker is archived;
#   4. lists the archive from the set's first segment and fails on any gap (a gap left by
#      archive-push-queue-max is invisible to check, info and verify);
#   5. restores the set with recovery to T into a new volume (docker) or directory (local),
#      starts it as a throwaway server that reaches nothing but the store (PITR_NETWORK; the
#      recovering server fetches WAL with archive-get, so it cannot be cut off entirely), and
#      waits until recovery has ended (postmaster.pid "ready", not pg_ctl's return);
#   6. asserts that the first marker is there, the second is not, and no row is later than T;
#   7. removes the throwaway server and its volume, whatever happened, and reports.
#
# Alerts (notify.sh): the outcome of every run (OK with the figures, or FAILURE with the
# step); a failure that lasts is reminded, and a pass after failures sends RESOLVED.
#
# Environment: see pitr.sh, and
#   PITR_SCRATCH_PREFIX          name of the throwaway volume and container, "<prefix>-<run>"
#   PITR_ARCHIVE_WAIT_SECONDS    how long the marker's segment may take to be archived; default 300
#   PITR_READY_TIMEOUT_SECONDS   how long the restored server may take to recover; default 1800
#   PITR_RESTORE_TIMEOUT_SECONDS limit of the restore itself; default 3000
#
# Exit status: 0 the restore to T was proven; 1 it failed (alerted); 2 bad configuration;
# 3 another check holds the lock; 4 proven, but the webhook did not take the report.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=notify.sh
. "$here/notify.sh"
# shellcheck source=job.sh
. "$here/job.sh"
# shellcheck source=pitr.sh
. "$here/pitr.sh"
JOB_NAME="PITR restore check"
pitr_check_config
prefix=${PITR_SCRATCH_PREFIX:-pitr-check}
[[ "$prefix" =~ ^[a-z0-9][a-z0-9_.-]*$ ]] || job_fail_config "PITR_SCRATCH_PREFIX '$prefix' is not a volume name"
if [ "${DB_ACCESS:-docker}" = docker ] && [ -z "${PITR_NETWORK:-}" ]; then
  job_fail_config "PITR_NETWORK is not set (the network the throwaway server reaches the store on)"
fi

pitr_lock "pitr-restore-check-$prefix" "restore check"
work=$(job_work_dir pitr-check)
scratch="$prefix-$(job_run_id)"
created=0
cleanup() {
  if [ "$created" = 1 ]; then
    pitr_scratch_remove "$scratch" && printf 'removed %s' "$scratch" || printf 'could not remove %s: remove it by hand' "$scratch"
    created=0
  fi
}
job_cleanup() { cleanup; }
# shellcheck disable=SC2064 # the directory is fixed now
trap "cleanup >/dev/null 2>&1; rm -rf '$work'" EXIT
job_trap_signals

fail() {
  local removed
  removed=$(cleanup 2>&1) || true
  created=0
  pitr_fail pitr-restore-check "PITR restore check FAILED" "$1${removed:+ ($removed)}"
}

started=$(date +%s)
# --- 1. two markers and T between them ------------------------------------------------
JOB_DOING="writing the markers"
db=$PITR_MARKER_DATABASE
insert_marker() {
  pitr_psql "$db" "INSERT INTO marker (note) VALUES ('restore check $scratch') RETURNING id || ' ' || extract(epoch FROM at)"
}
if [ "$(pitr_psql postgres "SELECT count(*) FROM pg_database WHERE datname = '$db'" 2>"$work/err")" != 1 ]; then
  fail "the marker database $db is not there (the PITR marker job creates it): $(head -c 200 "$work/err")"
fi
read -r m1 m1_at <<<"$(insert_marker 2>"$work/err")" || true
[ -n "${m1:-}" ] || fail "cannot write a marker: $(head -c 300 "$work/err")"
sleep 1.2
read -r m2 m2_at <<<"$(insert_marker 2>"$work/err")" || true
[ -n "${m2:-}" ] || fail "cannot write a marker: $(head -c 300 "$work/err")"
target_epoch=$(awk -v a="$m1_at" -v b="$m2_at" 'BEGIN { printf "%.6f", (a + b) / 2 }')
target=$(pitr_timestamp "$target_epoch")

# --- 2. the set -------------------------------------------------------------------------
JOB_DOING="choosing the backup set"
pitr_info "$work/info.json" 2>"$work/err" || fail "$(cat "$work/err")"
set_line=$(pitr_pick_set "$work/info.json" "$target_epoch" 2>"$work/err") || fail "$(cat "$work/err")"
read -r set_label set_type _ set_stop set_first _ <<<"$set_line"

# --- 3. the markers' WAL in the archive -------------------------------------------------
JOB_DOING="waiting for the markers' WAL to be archived"
pitr_switch_and_wait "${PITR_ARCHIVE_WAIT_SECONDS:-300}" 2>"$work/err" || fail "$(cat "$work/err")"

# --- 4. the chain from the set to now ---------------------------------------------------
JOB_DOING="listing the archive for gaps"
gap_status=0
gaps=$(pitr_gap_check "$work/info.json" "$set_first" 2>"$work/err") || gap_status=$?
if [ "$gap_status" -eq 1 ]; then
  fail "the WAL archive has a GAP after set $set_label, so no point in time after it can be restored: $(printf '%s' "$gaps" | tr '\n' ';') Take a full backup now (the archive-lag check names the dropped segments)"
elif [ "$gap_status" -ne 0 ]; then
  fail "$(cat "$work/err")"
fi

# --- 5. restore into a cluster of its own -----------------------------------------------
JOB_DOING="restoring set $set_label to $target into $scratch"
env_file=-
if [ "${DB_ACCESS:-docker}" = docker ]; then
  env_file="$work/pgbackrest.env"
  pitr_scratch_env_file "$env_file" || fail "cannot read the live container's pgBackRest settings"
fi
pitr_scratch_create "$scratch" vps.pitr-scratch="$scratch" || fail "cannot create the volume $scratch"
created=1
restore_started=$(date +%s)
status=0
out=$(pitr_restore_to "$scratch" "$set_label" "$target" "$env_file") || status=$?
[ "$status" -eq 0 ] || fail "pgbackrest restore of set $set_label exited $status: $(pitr_last_lines "$out")"
pitr_scratch_start "$scratch" "$env_file" none || fail "the restored server did not start: $(pitr_last_lines "$(pitr_scratch_log "$scratch")")"
if ! pitr_scratch_wait_ready "$scratch" "${PITR_READY_TIMEOUT_SECONDS:-1800}" 2>"$work/err"; then
  fail "recovery of set $set_label to $target failed: $(cat "$work/err"): $(pitr_scratch_log "$scratch" | grep -E 'FATAL|PANIC|last completed transaction|ERROR' | tail -n 4 | tr '\n' ' ' | cut -c1-600)"
fi
restore_seconds=$(($(date +%s) - restore_started))

# --- 6. the markers ---------------------------------------------------------------------
JOB_DOING="checking the markers"
if ! seen=$(pitr_scratch_psql "$scratch" "$db" "SELECT (SELECT count(*) FROM marker WHERE id = $m1) || ' ' || (SELECT count(*) FROM marker WHERE id = $m2) || ' ' || (SELECT count(*) FROM marker WHERE at > '$target')" 2>"$work/err"); then
  fail "the restored cluster does not answer: $(head -c 300 "$work/err")"
fi
read -r has1 has2 later <<<"$seen"
if [ "$has1" != 1 ] || [ "$has2" != 0 ] || [ "$later" != 0 ]; then
  fail "restored to $target from set $set_label, but the data is not that moment: marker $m1 (before T) present: $has1, marker $m2 (after T) present: $has2, rows after T: $later"
fi

# --- 7. clean up and report -------------------------------------------------------------
removed=$(cleanup 2>&1)
created=0
message="PITR restore check: restored set $set_label ($set_type, ended $(date -u -d "@$set_stop" +%FT%TZ)) to $target in ${restore_seconds} s; marker $m1 before T is there, marker $m2 after T is not; WAL chain from $set_first has no gap; $removed; $(($(date +%s) - started)) s in all"
job_say "$message"
alerts_resolve "PITR restore check" || job_say "the resolved notice could not be delivered (the next run tries again)"
if ! notify ok "$message"; then
  exit 4
fi
