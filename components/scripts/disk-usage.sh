#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Disk-usage check of a host stack (DiskUsageCheck): alerts when a file system that holds one
# of DISK_PATHS is fuller than DISK_THRESHOLD_PERCENT. One alert per run naming every full
# file system (deduplicated, reminded every ALERT_REMINDER_MINUTES), then one RESOLVED notice
# when it is below the threshold again (see notify.sh's alerts_*). A pass goes to the journal.
# Exit 0 when every file system is below the threshold, 1 when one is not (alerted), 2 on a bad
# configuration.
#
# Configured only by environment variables (the job's root-only env file):
#   DISK_THRESHOLD_PERCENT  used space, in percent, above which a file system is alerted; default 80
#   DISK_PATHS              space-separated absolute paths; their file systems are checked once
#                           each; default "/"
#   DISK_STATE_DIR          open alerts; default $STATE_DIRECTORY or /var/lib/vps-jobs/disk-usage
#   ALERT_WEBHOOK_URL, ALERT_WEBHOOK_FORMAT, ALERT_PREFIX, ALERT_REMINDER_MINUTES: see notify.sh
set -euo pipefail

# shellcheck source=notify.sh
. "$(dirname "$0")/notify.sh"
# shellcheck source=job.sh
. "$(dirname "$0")/job.sh"
JOB_NAME="disk-usage check"

threshold=${DISK_THRESHOLD_PERCENT:-80}
state_dir=${DISK_STATE_DIR:-${STATE_DIRECTORY:-/var/lib/vps-jobs/disk-usage}}
export ALERT_STATE_DIR="$state_dir/alerts"
# First: a CRLF env file would otherwise surface as a bad setting below.
job_check_alert_config
case "$threshold" in '' | *[!0-9]*) job_fail_config "DISK_THRESHOLD_PERCENT must be a whole number of percent, got '$threshold'" ;; esac
if [ "$threshold" -lt 1 ] || [ "$threshold" -gt 99 ]; then job_fail_config "DISK_THRESHOLD_PERCENT must be 1-99, got $threshold"; fi
read -r -a paths <<<"${DISK_PATHS:-/}"
mkdir -p "$state_dir"

declare -A seen=()
checked=0
for p in "${paths[@]}"; do
  if ! line=$(df --output=target,pcent,size,avail -B1M "$p" 2>&1 | tail -n +2); then
    alerts_problem "path|$p" "- $p cannot be checked: ${line//$'\n'/ }"
    continue
  fi
  read -r mount pcent size avail <<<"$line"
  [ -z "${seen[$mount]:-}" ] || continue
  seen[$mount]=1
  checked=$((checked + 1))
  used=${pcent%\%}
  if [ "$used" -gt "$threshold" ]; then
    # The id is the file system, not its percentage: a disk that keeps filling is one problem.
    alerts_problem "fs|$mount" "- $mount is $used % full ($avail MiB of $size MiB free; threshold $threshold %)"
  else
    job_say "$mount is $used % full (threshold $threshold %)"
  fi
done

alerts_report "disk usage above $threshold %:" "disk usage" || job_say "an alert or resolved notice could not be delivered (the next run tries again)"
job_say "checked $checked file system(s), ${#ALERTS_IDS[@]} problem(s)"
[ "${#ALERTS_IDS[@]}" -eq 0 ]
