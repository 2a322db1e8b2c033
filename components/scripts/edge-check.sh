#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Edge check of a host stack (EdgeCheck): what the one proxy of the VPS routes, seen from the
# Docker labels it reads.
#
#  - the proxy container is healthy;
#  - no host name is claimed by two environments: every container labelled vps.edge=EDGE_NAME
#    is read, the Host(`...`) of each of its routers collected with its owner
#    (<vps.app>/<vps.environment>, or the host stack itself for a container labelled
#    vps.host=EDGE_NAME: its Grafana), and a host (or a router name) of two owners alerted:
#    Traefik would serve one of them, or merge both into one load balancer;
#  - no container labelled for this edge lacks the ownership labels (the proxy skips it).
#
# One alert per run naming every problem (deduplicated, reminded every ALERT_REMINDER_MINUTES),
# then RESOLVED when it is gone (notify.sh's alerts_*). Exit 0 when all is well, 1 when a
# problem was found (alerted), 2 on a bad configuration.
#
# Configured only by environment variables (the job's root-only env file):
#   EDGE_NAME             the host stack's name, the value of the vps.edge label, e.g. vps1
#   EDGE_PROXY_CONTAINER  the proxy's container, e.g. vps1-reverse-proxy
#   EDGE_STATE_DIR        open alerts; default $STATE_DIRECTORY or /var/lib/vps-jobs/edge-check
#   DOCKER, DOCKER_TIMEOUT_SECONDS: see job.sh
#   ALERT_WEBHOOK_URL, ALERT_WEBHOOK_FORMAT, ALERT_PREFIX, ALERT_REMINDER_MINUTES: see notify.sh
set -euo pipefail

# shellcheck source=notify.sh
. "$(dirname "$0")/notify.sh"
# shellcheck source=job.sh
. "$(dirname "$0")/job.sh"
JOB_NAME="edge check"

timeout=${DOCKER_TIMEOUT_SECONDS:-20}
state_dir=${EDGE_STATE_DIR:-${STATE_DIRECTORY:-/var/lib/vps-jobs/edge-check}}
export ALERT_STATE_DIR="$state_dir/alerts"
# First: a CRLF env file would otherwise surface as a bad setting below.
job_check_alert_config
[[ "${EDGE_NAME:-}" =~ ^[a-z][a-z0-9-]*$ ]] || job_fail_config "EDGE_NAME must be the host stack's name, got '${EDGE_NAME:-}'"
[[ "${EDGE_PROXY_CONTAINER:-}" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || job_fail_config "EDGE_PROXY_CONTAINER must be a container name, got '${EDGE_PROXY_CONTAINER:-}'"
mkdir -p "$state_dir"
JOB_LOCK_DIR=$state_dir job_lock edge-check || { job_say "another run holds the lock; skipping this one"; exit 0; }

finish() {
  alerts_report "edge $EDGE_NAME: ${#ALERTS_IDS[@]} problem(s):" "edge $EDGE_NAME" ||
    job_say "an alert or resolved notice could not be delivered (the next run tries again)"
  exit $((${#ALERTS_IDS[@]} > 0 ? 1 : 0))
}

if ! err=$(DOCKER_TIMEOUT_SECONDS=$timeout job_docker_ping 2>&1); then
  alerts_problem docker-daemon "- $err"
  finish
fi

health=$(job_docker "$timeout" inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}} (no healthcheck){{end}}' "$EDGE_PROXY_CONTAINER" 2>/dev/null) || health="missing"
if [ "$health" != healthy ]; then
  alerts_problem "proxy|$EDGE_PROXY_CONTAINER" "- the proxy $EDGE_PROXY_CONTAINER is $health: no environment on this VPS is reachable"
fi

declare -A host_owner=() router_owner=()
mapfile -t ids < <(job_docker "$timeout" ps --quiet --no-trunc --filter "label=vps.edge=$EDGE_NAME")
for id in "${ids[@]}"; do
  [ -n "$id" ] || continue
  name=$(job_docker "$timeout" inspect --format '{{.Name}}' "$id") || continue
  name=${name#/}
  app="" env="" host_stack=""
  routers=()
  # shellcheck disable=SC2016 # a Go template, not a shell expression
  while IFS= read -r label; do
    case "$label" in
      vps.app=*) app=${label#vps.app=} ;;
      vps.environment=*) env=${label#vps.environment=} ;;
      vps.host=*) host_stack=${label#vps.host=} ;;
      traefik.http.routers.*.rule=*) routers+=("$label") ;;
    esac
  done < <(job_docker "$timeout" inspect --format '{{range $k, $v := .Config.Labels}}{{$k}}={{$v}}{{"\n"}}{{end}}' "$id")
  if [ -n "$app" ] && [ -n "$env" ]; then
    owner="$app/$env"
  elif [ "$host_stack" = "$EDGE_NAME" ]; then
    owner="$EDGE_NAME" # the host stack's own (its Grafana)
  else
    alerts_problem "unowned|$name" "- container $name is labelled vps.edge=$EDGE_NAME but lacks vps.app or vps.environment (or vps.host=$EDGE_NAME): the proxy does not route it"
    continue
  fi
  for label in "${routers[@]}"; do
    router=${label#traefik.http.routers.}
    router=${router%%.rule=*}
    rule=${label#*.rule=}
    if [ -n "${router_owner[$router]:-}" ] && [ "${router_owner[$router]}" != "$owner" ]; then
      alerts_problem "router|$router" "- router $router is defined by ${router_owner[$router]} and $owner: Traefik drops it and merges their services"
    fi
    router_owner[$router]=$owner
    while [[ "$rule" =~ Host\(\`([^\`]+)\`\) ]]; do
      host=${BASH_REMATCH[1]}
      rule=${rule#*"${BASH_REMATCH[0]}"}
      if [ -n "${host_owner[$host]:-}" ] && [[ " ${host_owner[$host]} " != *" $owner "* ]]; then
        host_owner[$host]+=" $owner"
      elif [ -z "${host_owner[$host]:-}" ]; then
        host_owner[$host]=$owner
      fi
    done
  done
done
for host in "${!host_owner[@]}"; do
  read -r -a owners <<<"${host_owner[$host]}"
  if [ "${#owners[@]}" -gt 1 ]; then
    alerts_problem "host|$host" "- Host(\`$host\`) is routed by ${#owners[@]} environments (${owners[*]}): the proxy serves only one of them; remove it from all but one"
  fi
done
job_say "${#ids[@]} container(s) on edge $EDGE_NAME, ${#host_owner[@]} host name(s), proxy $health"
finish
