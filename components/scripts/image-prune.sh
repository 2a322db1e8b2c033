#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Daily Docker image prune of a host stack (ImagePruneJob), for every environment on the VPS.
#
# Keeps every image a container uses (running or stopped, of any environment) and the
# PRUNE_KEEP_PER_REPOSITORY most recent images of each repository, so a rollback to a recent
# release starts without a pull; removes every other image, dangling ones included. A run that
# removes what it should sends nothing; a Docker daemon that does not answer, or an image that
# cannot be removed, is alerted once (reminded, then RESOLVED, as notify.sh's alerts_* do).
# Exit 0 when the prune did what it should, 1 when something failed (alerted), 2 on a bad
# configuration.
#
# Configured only by environment variables (the job's root-only env file):
#   PRUNE_KEEP_PER_REPOSITORY  images kept per repository besides those in use; default 3
#   PRUNE_STATE_DIR            open alerts; default $STATE_DIRECTORY or /var/lib/vps-jobs/image-prune
#   PRUNE_DRY_RUN              "1": say what would be removed, remove nothing
#   DOCKER, DOCKER_TIMEOUT_SECONDS: see job.sh
#   ALERT_WEBHOOK_URL, ALERT_WEBHOOK_FORMAT, ALERT_PREFIX, ALERT_REMINDER_MINUTES: see notify.sh
set -euo pipefail

# shellcheck source=notify.sh
. "$(dirname "$0")/notify.sh"
# shellcheck source=job.sh
. "$(dirname "$0")/job.sh"
JOB_NAME="image prune"

keep=${PRUNE_KEEP_PER_REPOSITORY:-3}
timeout=${DOCKER_TIMEOUT_SECONDS:-60}
state_dir=${PRUNE_STATE_DIR:-${STATE_DIRECTORY:-/var/lib/vps-jobs/image-prune}}
export ALERT_STATE_DIR="$state_dir/alerts"
# First: a CRLF env file would otherwise surface as a bad setting below.
job_check_alert_config
case "$keep" in '' | *[!0-9]* | 0) job_fail_config "PRUNE_KEEP_PER_REPOSITORY must be a whole number of at least 1, got '$keep'" ;; esac
mkdir -p "$state_dir"
JOB_LOCK_DIR=$state_dir job_lock image-prune || { job_say "another run holds the lock; skipping this one"; exit 0; }
job_trap_signals

# report <headline>: the run's one alert (deduplicated), then RESOLVED for what passes again.
report() {
  alerts_report "$1" "image prune" || job_say "an alert or resolved notice could not be delivered (the next run tries again)"
}

if ! err=$(DOCKER_TIMEOUT_SECONDS=$timeout job_docker_ping 2>&1); then
  alerts_problem docker-daemon "- $err"
  report "image prune not run: the Docker daemon does not work:"
  exit 1
fi

# Images some container uses, by full id (sha256:...).
declare -A used=()
mapfile -t containers < <(job_docker "$timeout" ps --all --quiet --no-trunc)
if [ "${#containers[@]}" -gt 0 ]; then
  while read -r id; do [ -n "$id" ] && used[$id]=1; done < <(job_docker "$timeout" inspect --format '{{.Image}}' "${containers[@]}")
fi

# Every image with its repositories and creation time, newest first.
mapfile -t ids < <(job_docker "$timeout" image ls --quiet --no-trunc | sort -u)
rows=()
if [ "${#ids[@]}" -gt 0 ]; then
  while read -r id created repos; do
    rows+=("$(date -u -d "$created" +%s%N) $id ${repos:-<none>}")
  done < <(job_docker "$timeout" image inspect --format '{{.Id}} {{.Created}} {{range .RepoTags}}{{.}} {{end}}{{range .RepoDigests}}{{.}} {{end}}' "${ids[@]}")
fi
mapfile -t rows < <(printf '%s\n' "${rows[@]}" | sort -rn)

# The newest PRUNE_KEEP_PER_REPOSITORY images of each repository are kept.
declare -A kept=() per_repo=() why=()
for row in "${rows[@]}"; do
  [ -n "$row" ] || continue
  read -r _ id refs <<<"$row"
  if [ -n "${used[$id]:-}" ]; then kept[$id]=1; why[$id]="in use"; fi
  declare -A seen_repo=()
  for ref in $refs; do
    [ "$ref" = "<none>" ] && continue
    repo=${ref%@*}
    [ "$repo" != "$ref" ] || repo=${ref%:*}
    [ -z "${seen_repo[$repo]:-}" ] || continue
    seen_repo[$repo]=1
    n=$((${per_repo[$repo]:-0} + 1))
    per_repo[$repo]=$n
    if [ "$n" -le "$keep" ]; then kept[$id]=1; why[$id]=${why[$id]:-"newest $keep of $repo"}; fi
  done
  unset seen_repo
done

removed=0 bytes=0 failed=()
for row in "${rows[@]}"; do
  [ -n "$row" ] || continue
  read -r _ id refs <<<"$row"
  [ -z "${kept[$id]:-}" ] || continue
  size=$(job_docker "$timeout" image inspect --format '{{.Size}}' "$id" 2>/dev/null || echo 0)
  if [ "${PRUNE_DRY_RUN:-0}" = 1 ]; then
    job_say "would remove $id ($refs)"
    continue
  fi
  # An image with several tags is removed by its id only with --force; it is in no container's use.
  if out=$(job_docker "$timeout" image rm "$id" 2>&1) ||
    { [[ "$out" == *"referenced in multiple repositories"* ]] && out=$(job_docker "$timeout" image rm --force "$id" 2>&1); }; then
    removed=$((removed + 1))
    bytes=$((bytes + size))
    job_say "removed $id ($refs)"
  else
    failed+=("- $id ($refs): ${out//$'\n'/ }")
    alerts_problem "rm|$id" "- could not remove $id ($refs): ${out//$'\n'/ }"
  fi
done

job_say "kept ${#kept[@]} image(s) (in use, or the newest $keep of their repository), removed $removed, freed $((bytes / 1048576)) MiB"
report "image prune: ${#failed[@]} image(s) could not be removed:"
[ "${#failed[@]}" -eq 0 ]
