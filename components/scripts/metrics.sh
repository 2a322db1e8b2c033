#!/usr/bin/env bash
# What the jobs tell the host's monitoring (sourced by backup.sh and health-check.sh): a
# metrics file in node-exporter's textfile directory, written atomically (node-exporter skips
# a whole file it finds half-written). Nothing happens without METRICS_FILE (an environment
# whose host has no monitoring), and a file that cannot be written never fails the job.
#
# Environment:
#   METRICS_FILE     the job's file, <monitoring dir>/textfile/<app>-<env>-<job>.prom
#   METRICS_LABELS   the labels of every series, e.g. app="shop",environment="staging"
#   DOCKER           the docker client; default docker

# metrics_write: writes stdin to METRICS_FILE through a temporary file in the same directory.
metrics_write() {
  local tmp
  tmp=$(mktemp "$(dirname "$METRICS_FILE")/.$(basename "$METRICS_FILE").XXXXXX") || return 1
  if ! cat >"$tmp" || ! chmod 0644 "$tmp" || ! mv -f "$tmp" "$METRICS_FILE"; then
    rm -f "$tmp"
    return 1
  fi
}

# metrics_series <name> <help> <type> <value>: one series with its HELP and TYPE lines.
metrics_series() {
  printf '# HELP %s %s\n# TYPE %s %s\n%s{%s} %s\n' "$1" "$2" "$1" "$3" "$1" "$METRICS_LABELS" "$4"
}

# metrics_backup_run <1|0>: the backup's last run, its outcome, and the time of the last
# success (kept from the previous file when this run failed).
metrics_backup_run() {
  [ -n "${METRICS_FILE:-}" ] || return 0
  local ok=$1 now last=""
  now=$(date +%s)
  if [ "$ok" = 1 ]; then
    last=$now
  elif [ -f "$METRICS_FILE" ]; then
    last=$(sed -n 's/^vps_backup_last_success_timestamp_seconds{[^}]*} \([0-9][0-9]*\)$/\1/p' "$METRICS_FILE" | head -n 1)
  fi
  {
    metrics_series vps_backup_last_run_timestamp_seconds "Unix time the backup job last finished." gauge "$now"
    metrics_series vps_backup_last_run_success "1 when the backup job's last run completed every backup." gauge "$ok"
    if [ -n "$last" ]; then
      metrics_series vps_backup_last_success_timestamp_seconds "Unix time of the last run that completed every backup." gauge "$last"
    fi
  } | metrics_write || echo "metrics: could not write $METRICS_FILE" >&2
}

# metrics_health_check_run <exit status> <container>...: the run's outcome and time, and per
# container its restarts by Docker's restart policy (a counter; increase() copes with a new
# container starting again at 0) and whether Docker reports it healthy.
metrics_health_check_run() {
  [ -n "${METRICS_FILE:-}" ] || return 0
  local status=$1 ok=0 now inspected=""
  shift
  [ "$status" = 0 ] && ok=1
  now=$(date +%s)
  if [ "$#" -gt 0 ]; then
    # One call for every container; a missing one is left out.
    inspected=$(timeout --kill-after=5 "${DOCKER_TIMEOUT_SECONDS:-20}" "${DOCKER:-docker}" inspect \
      --format '{{.Name}} {{.RestartCount}} {{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}} {{index .Config.Labels "vps.role"}}' \
      "$@" 2>/dev/null) || true
  fi
  {
    metrics_series vps_health_check_last_run_timestamp_seconds "Unix time the health-check job last finished." gauge "$now"
    metrics_series vps_health_check_last_run_success "1 when every check of the health-check job's last run passed." gauge "$ok"
    # A family's samples must follow its TYPE line together: one pass per family.
    metrics_containers vps_container_restarts_total "Restarts of the container by Docker's restart policy." counter "$inspected"
    metrics_containers vps_container_healthy "1 when Docker reports the container healthy." gauge "$inspected"
  } | metrics_write || echo "metrics: could not write $METRICS_FILE" >&2
}

# metrics_containers <name> <help> <type> <docker inspect lines>: one family, a sample per container.
metrics_containers() {
  local family=$1 name restarts health role value
  [ -n "$4" ] || return 0
  printf '# HELP %s %s\n# TYPE %s %s\n' "$family" "$2" "$family" "$3"
  while read -r name restarts health role; do
    name=${name#/}
    [[ "$name" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ && "$restarts" =~ ^[0-9]+$ ]] || continue
    [[ "${role:-}" =~ ^[A-Za-z0-9_.-]*$ ]] || role=""
    value=$restarts
    if [ "$family" = vps_container_healthy ]; then
      value=0
      [ "$health" = healthy ] && value=1
    fi
    printf '%s{%s,container="%s",service="%s"} %s\n' "$family" "$METRICS_LABELS" "$name" "${role:-}" "$value"
  done <<<"$4"
}
