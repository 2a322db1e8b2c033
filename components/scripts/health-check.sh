#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Health check with auto-heal for one environment, run by its systemd timer (HealthCheckJob).
#
# Each run: probe every check; for each container with a failing check, `docker restart` it
# (within a restart budget); wait up to HC_RESTART_WAIT_SECONDS for the restarted checks to
# pass (re-probing every HC_POLL_SECONDS, so a fast recovery ends the wait early); then send
# ONE alert summarising whatever still fails. A healthy run sends nothing. Exit 0 when every
# check passes at the end of the run, 1 when something still fails (the alert was sent).
#
# Configured only by environment variables (the job's root-only env file):
#   HC_URLS                     space-separated "url|expected-status|container" entries: the
#                               public URLs (probed with curl from the VPS) and the container
#                               restarted when one fails
#   HC_CURL_RESOLVE             space-separated "host:port:address" entries for curl --resolve,
#                               e.g. "shop.example.com:443:127.0.0.1" to probe through this
#                               VPS's own proxy whatever DNS says
#   HC_HTTP_TIMEOUT_SECONDS     per-URL timeout; default 10
#   HC_INSECURE_TLS             "1": probe https URLs without verifying the certificate (a
#                               proxy on an ACME CA no client trusts); default verify
#   HC_CONTAINERS               space-separated containers whose Docker health must be "healthy"
#   HC_POSTGRES_CONTAINER       container to run `pg_isready` in (optional)
#   HC_POSTGRES_USER            its user; default postgres
#   HC_REDIS_CONTAINER          container to run `redis-cli ping` in (optional)
#   HC_REDIS_PASSWORD           Redis password, passed to redis-cli as REDISCLI_AUTH through the
#                               environment, never on a command line (optional)
#   HC_RESTART_WAIT_SECONDS     how long restarted containers get to pass again; default 30
#   HC_POLL_SECONDS             re-probe interval during that wait; default 2
#   HC_RESTART_BUDGET_PER_HOUR  restarts per container in any sliding hour; default 3. When a
#                               container's budget is spent it is not restarted, only alerted on.
#   HC_STATE_DIR                restart timestamps, open alerts and the run lock; default
#                               $STATE_DIRECTORY (set by systemd's StateDirectory=) or
#                               /var/lib/vps-jobs/health-check
#   HC_DOCKER_TIMEOUT_SECONDS   limit of one docker inspect/exec (a restart gets 15 s more);
#                               default 20
#   HC_STALE_LOCK_SECONDS       a run that finds the lock held longer than this alerts (the
#                               earlier run is stuck); default 240 (the unit's limit is 300)
#   DOCKER                      docker client; default docker
#   METRICS_FILE, METRICS_LABELS  where the run's outcome and the containers' restarts and
#                               health go for the host's monitoring (metrics.sh); optional
#   ALERT_WEBHOOK_URL, ALERT_WEBHOOK_FORMAT, ALERT_PREFIX, ALERT_REMINDER_MINUTES: see notify.sh
set -euo pipefail

# Installed beside this script; shellcheck -x follows them from this directory.
# shellcheck source=notify.sh
. "$(dirname "$0")/notify.sh"
# shellcheck source=job.sh
. "$(dirname "$0")/job.sh"
# shellcheck source=metrics.sh
. "$(dirname "$0")/metrics.sh"
JOB_NAME="health check"

http_timeout=${HC_HTTP_TIMEOUT_SECONDS:-10}
restart_wait=${HC_RESTART_WAIT_SECONDS:-30}
poll=${HC_POLL_SECONDS:-2}
budget=${HC_RESTART_BUDGET_PER_HOUR:-3}
docker_timeout=${HC_DOCKER_TIMEOUT_SECONDS:-20}
stale_lock=${HC_STALE_LOCK_SECONDS:-240}
state_dir=${HC_STATE_DIR:-${STATE_DIRECTORY:-/var/lib/vps-jobs/health-check}}
export ALERT_STATE_DIR="$state_dir/alerts"

for n in "$http_timeout" "$restart_wait" "$poll" "$budget" "$docker_timeout" "$stale_lock"; do
  case "$n" in
    '' | *[!0-9]*) echo "health-check: timeouts, waits and the budget must be whole numbers, got '$n'" >&2; exit 2 ;;
  esac
done

log() { printf '%s health-check: %s\n' "$(date -u +%H:%M:%S)" "$*"; }

# --- the check list -------------------------------------------------------------------
# Parallel arrays, one entry per check: kind (url, docker-health, postgres, redis),
# argument, expected value, and the container restarted when the check fails.
kinds=() args=() expects=() owners=()
add_check() { kinds+=("$1"); args+=("$2"); expects+=("$3"); owners+=("$4"); }

for entry in ${HC_URLS:-}; do
  IFS='|' read -r url status container <<<"$entry"
  if [ -z "$url" ] || [ -z "$status" ] || [ -z "$container" ]; then
    echo "health-check: HC_URLS entry '$entry' is not url|status|container" >&2
    exit 2
  fi
  add_check url "$url" "$status" "$container"
done
for container in ${HC_CONTAINERS:-}; do
  add_check docker-health "$container" healthy "$container"
done
if [ -n "${HC_POSTGRES_CONTAINER:-}" ]; then
  add_check postgres "${HC_POSTGRES_USER:-postgres}" ready "$HC_POSTGRES_CONTAINER"
fi
if [ -n "${HC_REDIS_CONTAINER:-}" ]; then
  add_check redis "" PONG "$HC_REDIS_CONTAINER"
fi
if [ "${#kinds[@]}" -eq 0 ]; then
  echo "health-check: nothing to check (set HC_URLS, HC_CONTAINERS, HC_POSTGRES_CONTAINER or HC_REDIS_CONTAINER)" >&2
  exit 2
fi

resolve_args=()
for r in ${HC_CURL_RESOLVE:-}; do
  resolve_args+=(--resolve "$r")
done
if [ "${HC_INSECURE_TLS:-0}" = "1" ]; then
  resolve_args+=(--insecure)
fi

# probe <i>: returns 0 (passes), 1 (fails) or 3 (pending: Docker still "starting" the
# container, which is what a deploy or a restart looks like at first); sets $detail.
detail=""
probe() {
  local i=$1 kind=${kinds[$1]} arg=${args[$1]} expect=${expects[$1]} owner=${owners[$1]} got rc
  case "$kind" in
    url)
      got=$(curl --silent --output /dev/null --write-out '%{http_code}' --max-time "$http_timeout" \
        "${resolve_args[@]}" -- "$arg" 2>/dev/null) || true
      detail="GET $arg answered ${got:-000}, expected $expect"
      [ "$got" = "$expect" ] && return 0
      return 1 ;;
    docker-health)
      rc=0
      got=$(job_docker "$docker_timeout" inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}} (no healthcheck){{end}}' "$arg" 2>/dev/null) || rc=$?
      case "$rc" in
        0) ;;
        124 | 137) got="unknown: docker inspect did not answer within $docker_timeout s" ;;
        *) got="missing" ;;
      esac
      detail="container $arg is $got"
      [ "$got" = healthy ] && return 0
      [ "$got" = starting ] && return 3
      return 1 ;;
    postgres)
      rc=0
      job_docker "$docker_timeout" exec "$owner" pg_isready -q -U "$arg" >/dev/null 2>&1 || rc=$?
      detail="pg_isready -U $arg in $owner exited $rc"
      [ "$rc" -eq 0 ] && return 0
      return 1 ;;
    redis)
      got=$(REDISCLI_AUTH=${HC_REDIS_PASSWORD:-} job_docker "$docker_timeout" exec ${HC_REDIS_PASSWORD:+--env REDISCLI_AUTH} \
        "$owner" redis-cli ping 2>&1) || true
      got=${got//$'\r'/}
      detail="redis-cli ping in $owner answered '${got:-nothing}'"
      [ "$got" = PONG ] && return 0
      return 1 ;;
  esac
  echo "health-check: unknown check kind $kind (check $i)" >&2
  return 1
}

# --- one run at a time ----------------------------------------------------------------
mkdir -p "$state_dir"
lock_status=0
JOB_LOCK_DIR=$state_dir job_lock health-check || lock_status=$?
if [ "$lock_status" -ne 0 ]; then
  held=$(($(date +%s) - ${JOB_LOCK_HELD_SINCE%% *}))
  if [ "$held" -lt "$stale_lock" ]; then
    log "another run has held $JOB_LOCK_FILE for $held s; skipping this one"
    exit 0
  fi
  # Every Docker call has a limit, so a run this old is stuck: skipping silently would
  # hide it for as long as it lasts.
  alerts_problem stuck-run "the health-check run started $held s ago still holds $JOB_LOCK_FILE (stuck; limit HC_STALE_LOCK_SECONDS=$stale_lock)"
  if alerts_due; then
    delivered=0
    notify failure "health check not run: ${ALERTS_TEXTS[0]}" && delivered=1
    alerts_sent "$delivered"
  fi
  exit 1
fi
job_trap_signals
# Whatever way this run ends, the host's monitoring learns it (METRICS_FILE; metrics.sh).
# shellcheck disable=SC2086 # the lists are space-separated container names
trap 'metrics_health_check_run "$?" ${HC_CONTAINERS:-} ${HC_POSTGRES_CONTAINER:-} ${HC_REDIS_CONTAINER:-}' EXIT

# report_problems <headline> <line>...: the one alert of a run (deduplicated, see notify.sh),
# then a RESOLVED notice for what was alerted before and passes now.
report_problems() {
  local headline=$1 summary since line i=0 delivered=0
  shift
  summary=$headline
  for line in "$@"; do
    since=$(alerts_since "${ALERTS_IDS[$i]}") && [ "$since" -lt "$JOB_STARTED" ] &&
      line+=" (failing since $(date -u -d "@$since" +%H:%MZ))"
    summary+=$'\n'"$line"
    i=$((i + 1))
  done
  log "$summary"
  if alerts_due; then
    if notify failure "$summary"; then
      delivered=1
    else
      log "the alert could not be delivered to the webhook (the next run tries again)"
    fi
    alerts_sent "$delivered"
  fi
  alerts_resolve "health check" || log "the resolved notice could not be delivered (the next run tries again)"
}

# --- is Docker there at all? -------------------------------------------------------------
uses_docker=0
for k in "${kinds[@]}"; do
  [ "$k" = url ] || uses_docker=1
done
if [ "$uses_docker" = 1 ] && ! ping_err=$(DOCKER_TIMEOUT_SECONDS=$docker_timeout job_docker_ping 2>&1); then
  # A restart could not get through either: alert this one cause, not every check.
  alerts_problem docker-daemon "- $ping_err: no container check or restart can run"
  report_problems "health check: the Docker daemon does not work:" "${ALERTS_TEXTS[@]}"
  exit 1
fi

# starting <container>: true while Docker has not finished the container's first healthcheck
# (it was just deployed or restarted): such a container gets no verdict, and no restart, this run.
starting() {
  [ "$(job_docker "$docker_timeout" inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$1" 2>/dev/null)" = starting ]
}

# --- first pass ---------------------------------------------------------------------
failing=()
pending=()
for i in "${!kinds[@]}"; do
  rc=0
  probe "$i" || rc=$?
  if [ "$rc" -eq 1 ] && [ "${kinds[$i]}" != docker-health ] && starting "${owners[$i]}"; then
    rc=3
  fi
  case "$rc" in
    0) ;;
    3) log "pending: $detail (${owners[$i]} has not passed its first Docker healthcheck yet)"; pending+=("$i") ;;
    *) log "FAILING: $detail"; failing+=("$i") ;;
  esac
done
if [ "${#failing[@]}" -eq 0 ]; then
  if [ "${#pending[@]}" -eq 0 ]; then
    log "all ${#kinds[@]} checks pass"
  else
    log "$((${#kinds[@]} - ${#pending[@]})) of ${#kinds[@]} checks pass, ${#pending[@]} pending (the container has not passed its first Docker healthcheck yet: no verdict this run)"
  fi
  alerts_resolve "health check" || log "the resolved notice could not be delivered (the next run tries again)"
  exit 0
fi

# --- restart what fails, within the budget --------------------------------------------
now=$(date +%s)
declare -A restarted=() outcome=()
for i in "${failing[@]}"; do
  c=${owners[$i]}
  [ -n "${outcome[$c]:-}" ] && continue
  ledger="$state_dir/restarts-$c"
  recent=()
  if [ -f "$ledger" ]; then
    while read -r t; do
      case "$t" in '' | *[!0-9]*) continue ;; esac
      [ $((now - t)) -lt 3600 ] && recent+=("$t")
    done <"$ledger"
  fi
  if [ "${#recent[@]}" -ge "$budget" ]; then
    outcome[$c]="restart budget spent (${#recent[@]} restarts in the last hour, budget $budget): not restarted"
    log "$c: ${outcome[$c]}"
  elif err=$(job_docker $((docker_timeout + 15)) restart --time 10 "$c" 2>&1 >/dev/null); then
    recent+=("$now")
    restarted[$c]=1
    outcome[$c]="restarted, still failing after ${restart_wait} s"
    log "$c: restarted (${#recent[@]} of $budget this hour)"
  else
    outcome[$c]="restart failed: ${err//$'\n'/ }"
    log "$c: ${outcome[$c]}"
  fi
  # Rewrite the ledger with only the last hour's restarts, so it never grows.
  printf '%s\n' "${recent[@]}" >"$ledger.tmp"
  mv -f "$ledger.tmp" "$ledger"
done

# --- wait for the restarted ones -------------------------------------------------------
started=$(date +%s)
if [ "${#restarted[@]}" -gt 0 ]; then
  deadline=$((started + restart_wait))
  while :; do
    waiting=0
    for i in "${failing[@]}"; do
      [ -n "${restarted[${owners[$i]}]:-}" ] || continue
      probe "$i" || waiting=1
      [ "$waiting" -eq 1 ] && break
    done
    [ "$waiting" -eq 0 ] && break
    [ "$(date +%s)" -ge "$deadline" ] && break
    sleep "$poll"
  done
fi

# --- final verdict: one alert for everything that still fails ---------------------------
still=()
for i in "${failing[@]}"; do
  rc=0
  probe "$i" || rc=$?
  if [ "$rc" -ne 0 ]; then
    [ "$rc" -eq 3 ] && detail="$detail (healthcheck not passed yet)"
    still+=("- $detail; ${owners[$i]}: ${outcome[${owners[$i]}]}")
    alerts_problem "${kinds[$i]}|${args[$i]}|${owners[$i]}" "- $detail"
  fi
done
if [ "${#still[@]}" -eq 0 ]; then
  if [ "${#restarted[@]}" -gt 0 ]; then
    log "healed: restarted ${!restarted[*]}; every check passes again after $(($(date +%s) - started)) s"
  else
    log "recovered without a restart: every check passes again"
  fi
  alerts_resolve "health check" || log "the resolved notice could not be delivered (the next run tries again)"
  exit 0
fi

report_problems "${#still[@]} of ${#kinds[@]} health checks still failing:" "${still[@]}"
exit 1
