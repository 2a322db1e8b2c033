#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The archive-lag check of point-in-time recovery, every minute (PointInTimeRecovery's
# timer). It asks the live cluster, never the store, so it is quick and cannot hang on a
# store that is down:
#
# - lag: the oldest WAL segment waiting in pg_wal (archive_status/*.ready) is older than
#   PITR_LAG_LIMIT_SECONDS (the RPO target minus archive_timeout): commits are not reaching
#   the repository within the RPO. The message says how many segments wait, how much pg_wal
#   holds, and the archiver's failures (pg_stat_archiver). With asynchronous archiving
#   failed_count rises only every archive-timeout (60 s), and pg_wal keeps growing after a
#   catch-up until the next checkpoint, so the age of the oldest .ready file is the signal;
# - dropped WAL: pgBackRest dropped segments because the queue exceeded
#   archive-push-queue-max (its "dropped WAL file" warning in the archive-push-async log).
#   PostgreSQL counts those as archived, and check, info and verify all stay green: only
#   this line (and a listing of the archive, the weekly check's gap check) shows it. The
#   chain is broken from there: the problem stays open until a verified full backup has
#   started after the drop;
# - archive_mode off, or the cluster not answering;
# - the stanza not created (the first run creates it, so archiving can start at once).
#
# Alerts (notify.sh): one alert when a problem starts, a reminder every
# ALERT_REMINDER_MINUTES while it lasts, one RESOLVED notice when it is gone.
#
# Environment: see pitr.sh, and
#   PITR_LAG_LIMIT_SECONDS   age of the oldest unarchived segment that is a problem; default 150
#   PITR_STATE_DIR           where it remembers the stanza and a resolved drop; default $STATE_DIRECTORY
#
# Exit status: 0 archiving is healthy; 1 a problem (alerted); 2 bad configuration; 0 with a
# line in the journal when another run still holds the lock.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=notify.sh
. "$here/notify.sh"
# shellcheck source=job.sh
. "$here/job.sh"
# shellcheck source=pitr.sh
. "$here/pitr.sh"
JOB_NAME="PITR archive check"
pitr_check_config
state=${PITR_STATE_DIR:-${STATE_DIRECTORY:-/var/lib/vps-jobs/pitr-lag-check}}
mkdir -p "$state"
export ALERT_STATE_DIR="$state/alerts"
limit=${PITR_LAG_LIMIT_SECONDS:-150}

lock_status=0
JOB_LOCK_DIR=$state job_lock pitr-lag-check || lock_status=$?
if [ "$lock_status" -ne 0 ]; then
  job_say "another run holds $JOB_LOCK_FILE; skipping this one"
  exit 0
fi
work=$(job_work_dir pitr-lag)
# shellcheck disable=SC2064 # the directory is fixed now
trap "rm -rf '$work'" EXIT

# --- the stanza, once -----------------------------------------------------------------
if [ ! -f "$state/stanza-ok" ]; then
  if out=$(pitr_stanza_create); then
    : >"$state/stanza-ok"
    job_say "stanza created (or already there)"
  else
    alerts_problem stanza "- the stanza could not be created, so no WAL can be archived: $(pitr_last_lines "$out" 2)"
  fi
fi

# --- the archiver, as PostgreSQL sees it ----------------------------------------------
sql="SELECT current_setting('archive_mode'),
  coalesce(floor(extract(epoch FROM now() - last_archived_time))::bigint, -1), failed_count,
  coalesce(last_failed_wal, ''), coalesce(to_char(last_failed_time AT TIME ZONE 'UTC', 'HH24:MI:SS\"Z\"'), ''),
  (SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'),
  (SELECT coalesce(floor(extract(epoch FROM now() - min(modification))), 0)::bigint FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'),
  (SELECT (coalesce(sum(size), 0) / 1048576)::bigint FROM pg_ls_waldir())
FROM pg_stat_archiver"
if ! row=$(pitr_psql postgres "$sql" 2>"$work/err"); then
  alerts_problem postgres "- the archiver cannot be checked: PostgreSQL does not answer ($(head -c 200 "$work/err" | tr '\n' ' '))"
else
  IFS='|' read -r mode since failed failed_wal failed_at ready ready_age wal_mb <<<"$row"
  if [ "$mode" = off ]; then
    alerts_problem archive-mode "- archive_mode is off: no WAL is archived (the container must run with -c archive_mode=on)"
  elif [ "$ready" -gt 0 ] && [ "$ready_age" -gt "$limit" ]; then
    alerts_problem archive-lag "- WAL not archived for ${ready_age} s (limit ${limit} s, from the RPO target): $ready segment(s) waiting in pg_wal, which holds ${wal_mb} MB; archiver failures: $failed${failed_wal:+ (last $failed_wal at $failed_at)}; last success $([ "$since" -ge 0 ] && echo "$since s ago" || echo never)"
  fi
  job_say "archive_mode=$mode, $ready segment(s) waiting (oldest ${ready_age} s), last archived $since s ago, failures $failed, pg_wal ${wal_mb} MB"
fi

# --- WAL dropped by archive-push-queue-max --------------------------------------------
# shellcheck disable=SC2016 # expanded where pgBackRest runs (its PGBACKREST_LOG_PATH)
drop=$(timeout 30 "${PITR_PREFIX[@]}" sh -c 'cat "$PGBACKREST_LOG_PATH"/*-archive-push-async.log 2>/dev/null' 2>/dev/null | grep 'dropped WAL file' | tail -n 1) || drop=""
if [ -n "$drop" ]; then
  # "2026-11-30 22:46:25.123 P00   WARN: dropped WAL file '0000...' because archive queue exceeded 64MB"
  dropped_at=$(TZ=UTC date -d "$(cut -c1-19 <<<"$drop")" +%s 2>/dev/null) || dropped_at=$(date +%s)
  resolved=$(cat "$state/drop-resolved" 2>/dev/null) || resolved=0
  if [ "$dropped_at" -gt "$resolved" ]; then
    full_after=""
    if pitr_info "$work/info.json" 2>"$work/err"; then
      full_after=$(jq -r --arg key "$PITR_VERIFIED_KEY" --argjson t "$dropped_at" '.[0].backup // [] | map(select(.type == "full" and (.error // false) == false and ((.annotation // {}) | has($key)) and .timestamp.start > $t)) | .[0].label // empty' "$work/info.json")
    fi
    if [ -n "$full_after" ]; then
      printf '%s\n' "$dropped_at" >"$state/drop-resolved"
      job_say "WAL was dropped at $(date -u -d "@$dropped_at" +%FT%TZ); the verified full backup $full_after started after it, so the chain is whole again from there"
    else
      alerts_problem wal-dropped "- WAL was DROPPED by pgBackRest at $(date -u -d "@$dropped_at" +%FT%TZ) (archive-push-queue-max exceeded: $(sed -n "s/.*dropped WAL file '\([0-9A-F]*\)'.*/\1/p" <<<"$drop") was the last): no point in time after the last backup before it can be restored until a full backup is taken (systemctl start ${PITR_FULL_UNIT:-the PITR full backup})"
    fi
  fi
fi

# --- report ---------------------------------------------------------------------------
if [ "${#ALERTS_IDS[@]}" -gt 0 ]; then
  summary="PITR archiving is not healthy:"
  for line in "${ALERTS_TEXTS[@]}"; do summary+=$'\n'"$line"; done
  job_say "$summary"
  if alerts_due; then
    delivered=0
    notify failure "$summary" && delivered=1
    alerts_sent "$delivered"
  fi
  alerts_resolve "PITR archiving" || job_say "the resolved notice could not be delivered (the next run tries again)"
  exit 1
fi
alerts_resolve "PITR archiving" || job_say "the resolved notice could not be delivered (the next run tries again)"
exit 0
