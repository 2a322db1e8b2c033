#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# A pgBackRest backup of the environment's PostgreSQL cluster into its PITR repository,
# counted only once `pgbackrest verify` has passed: run weekly as a full and daily as a
# differential backup by the PointInTimeRecovery component (systemd timers, which say which
# with PITR_BACKUP_TYPE; by hand: `pitr-backup.sh full|diff`).
#
# One run: the stanza is created if it is not there yet (idempotent), the backup is taken
# (`backup` also expires what the retention no longer needs), the new set is found by its
# label, `pgbackrest verify` is run, and only when verify reports no error and the new set
# valid is the set annotated "vps-verified=<time>". Restores (the weekly check,
# restore.sh pitr) choose only annotated sets, so a set that did not verify is never
# restored from: it is "not counted". verify exits 0 even when it finds errors (2.45 and
# 2.59.1), so its report is read. In pgBackRest 2.45 verify ignores --set and checks the
# whole repository (every set and every WAL segment): a corrupt file anywhere stops new sets
# from counting until that set is expired (docs/runbook.md). From 2.55 on --set scopes it.
#
# Alerts (notify.sh): a failure is alerted once, reminded every ALERT_REMINDER_MINUTES
# while it lasts, and followed by a RESOLVED notice when a later run succeeds; a success
# goes to the journal only.
#
# Environment: see pitr.sh (DB_ACCESS, PITR_CONTAINER, PITR_PG_USER, PITR_TIMEOUT_SECONDS, ...) and
#   PITR_BACKUP_TIMEOUT_SECONDS   limit of the backup; default 3000 (inside the unit's hour)
#   PITR_VERIFY_TIMEOUT_SECONDS   limit of verify; default 1800
#   ALERT_WEBHOOK_URL, ALERT_WEBHOOK_FORMAT, ALERT_PREFIX, ALERT_REMINDER_MINUTES (notify.sh)
#
# Exit status: 0 the set is taken and counted; 1 failed or not counted (alerted); 2 bad
# configuration; 3 another PITR backup holds the lock.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=notify.sh
. "$here/notify.sh"
# shellcheck source=job.sh
. "$here/job.sh"
# shellcheck source=pitr.sh
. "$here/pitr.sh"

kind=${1:-${PITR_BACKUP_TYPE:-}}
case "$kind" in
  full | diff) ;;
  *) echo "usage: pitr-backup.sh full|diff (or PITR_BACKUP_TYPE=full|diff)" >&2; exit 2 ;;
esac
JOB_NAME="PITR $kind backup"
pitr_check_config

pitr_lock "pitr-backup-${PITR_CONTAINER:-local}" "PITR backup"
work=$(job_work_dir pitr-backup)
# shellcheck disable=SC2064 # the directory is fixed now
trap "rm -rf '$work'" EXIT
job_trap_signals

# fail <text>: the run's one problem: alerted (deduplicated), exit 1.
fail() {
  pitr_fail "pitr-$kind-backup" "PITR $kind backup FAILED" "$1"
}

JOB_DOING="reading the repository"
if ! pitr_info "$work/before.json" 2>"$work/err"; then
  # No stanza yet (a new repository): create it. Only then: stanza-create competes with the
  # archiver for the archive lock (pitr_stanza_create).
  JOB_DOING="creating the stanza"
  if ! out=$(pitr_stanza_create); then
    fail "the stanza could not be created or checked: $(pitr_last_lines "$out") (info: $(head -c 300 "$work/err"))"
  fi
  pitr_info "$work/before.json" 2>"$work/err" || fail "$(cat "$work/err")"
fi
pitr_all_labels "$work/before.json" | sort >"$work/before.labels"

JOB_DOING="taking the $kind backup"
started=$(date +%s)
status=0
out=$(pitr_pgbackrest "${PITR_BACKUP_TIMEOUT_SECONDS:-3000}" --type="$kind" --log-level-console=info backup) || status=$?
printf '%s\n' "$out" | grep -E 'INFO: (new backup label|full backup size|diff backup size|backup command end)|WARN|ERROR' >&2 || true
if [ "$status" -eq 124 ]; then
  fail "the backup did not finish within ${PITR_BACKUP_TIMEOUT_SECONDS:-3000} s and was stopped"
elif [ "$status" -ne 0 ]; then
  fail "pgbackrest backup exited $status: $(pitr_last_lines "$out")"
fi

pitr_info "$work/after.json" 2>"$work/err" || fail "the backup ran, but $(cat "$work/err")"
label=$(pitr_all_labels "$work/after.json" | sort | comm -13 "$work/before.labels" - | tail -n 1)
[ -n "$label" ] || fail "the backup ran, but no new set is in the repository"
taken=$(jq -r --arg l "$label" '.[0].backup[] | select(.label == $l) | .type' "$work/after.json")

JOB_DOING="verifying $label"
status=0
report=$(pitr_pgbackrest "${PITR_VERIFY_TIMEOUT_SECONDS:-1800}" verify --set="$label" --output=text --verbose) || status=$?
if [ "$status" -ne 0 ]; then
  fail "set $label was taken but verify could not run (exit $status): $(pitr_last_lines "$report"); it is not counted"
fi
overall=$(printf '%s\n' "$report" | sed -n 's/^status: *//p' | head -n 1)
mine=$(printf '%s\n' "$report" | grep -F "backup: $label," | sed -n 's/.*status: *\([a-z]*\).*/\1/p' | head -n 1)
if [ "$overall" != ok ] || [ "$mine" != valid ]; then
  problems=$(printf '%s\n' "$report" | grep -E 'status: (error|invalid)|(missing|checksum invalid|size invalid|other): [1-9]' | sed 's/^ *//' | head -n 6 | tr '\n' ';')
  # A set counted earlier that verify now finds invalid (a file damaged since) stops counting:
  # no restore chooses it any more.
  uncounted=()
  for invalid in $(printf '%s\n' "$report" | sed -n 's/^ *backup: \([^,]*\), status: invalid.*/\1/p'); do
    if jq -e --arg l "$invalid" --arg k "$PITR_VERIFIED_KEY" '.[0].backup[] | select(.label == $l) | (.annotation // {}) | has($k)' "$work/after.json" >/dev/null &&
      pitr_pgbackrest "${PITR_TIMEOUT_SECONDS:-120}" annotate --set="$invalid" "--annotation=$PITR_VERIFIED_KEY=" >/dev/null; then
      uncounted+=("$invalid")
    fi
  done
  fail "set $label ($taken) did not verify (verify: status ${overall:-none}, set ${mine:-not listed}): ${problems:-$(pitr_last_lines "$report")} It is not counted${uncounted[*]:+; no longer counted either: ${uncounted[*]}}. A damaged set must be expired and a full backup taken (docs/runbook.md)"
fi

JOB_DOING="recording that $label verified"
if ! out=$(pitr_pgbackrest "${PITR_TIMEOUT_SECONDS:-120}" annotate --set="$label" "--annotation=$PITR_VERIFIED_KEY=$(date -u +%Y-%m-%dT%H:%M:%SZ)"); then
  fail "set $label verified, but recording it failed: $(pitr_last_lines "$out"); it is not counted"
fi

job_say "set $label ($taken) taken in $(($(date +%s) - started)) s, verified and counted"
alerts_resolve "PITR $kind backup" || job_say "the resolved notice could not be delivered (the next run tries again)"
exit 0
