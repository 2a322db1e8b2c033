#!/usr/bin/env bash
# Posts one message to the environment's alert webhook (Discord or Slack).
#
# Sourced by the job scripts:  . "$(dirname "$0")/notify.sh"; notify failure "text"
# Run directly:                notify.sh <level> <text>
#
# Environment (from the job's root-only env file):
#   ALERT_WEBHOOK_URL     incoming-webhook URL; when empty, the message goes to stderr only
#   ALERT_WEBHOOK_FORMAT  "discord" (body {"content": ...}) or "slack" (body {"text": ...});
#                         default "discord"
#   ALERT_PREFIX          prepended to every message, e.g. "[shop/staging]"
#   ALERT_WEBHOOK_TIMEOUT_SECONDS  limit of one delivery (connect and answer); default 10
#   ALERT_REMINDER_MINUTES         while a problem lasts, how often it is alerted again; default 240
#   ALERT_STATE_DIR       where open problems are remembered; default $STATE_DIRECTORY/alerts
#                         (systemd's StateDirectory=); without one, every alert is sent
#   ALERT_WEBHOOK_ALLOW_HTTP_LOOPBACK  "1" lets tests post to http://127.0.0.1 (or localhost);
#                         never set on a VPS, where only https:// URLs are used
#
# The URL is a secret: it is passed to curl through a config file on stdin, never on
# the command line, so it does not show up in `ps`; messages name its scheme only.
# One attempt per message, bounded by the timeout: a webhook answering 5xx is not sent the
# same alert again within a run (curl's --retry did, three times, blocking 33 s); a problem
# alert that did not get through is sent again by the next run (alerts_due below).

json_escape() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  printf '%s' "$s"
}

# notify_check_url: status 2, with a message naming only the URL's scheme, when
# ALERT_WEBHOOK_URL is set but not an https:// URL curl can take from its config file.
notify_check_url() {
  local url=${ALERT_WEBHOOK_URL:-}
  [ -n "$url" ] || return 0
  local bad='[[:space:][:cntrl:]"\\]'
  if [[ "$url" =~ $bad ]]; then
    echo "notify: ALERT_WEBHOOK_URL holds a space, a control character, a quote or a backslash" >&2
    return 2
  fi
  if [[ "$url" =~ ^https://[^/?#@]+([/?#].*)?$ ]]; then
    return 0
  fi
  if [ "${ALERT_WEBHOOK_ALLOW_HTTP_LOOPBACK:-}" = 1 ] && [[ "$url" =~ ^http://(127\.0\.0\.1|localhost|\[::1\])(:[0-9]+)?([/?#].*)?$ ]]; then
    return 0
  fi
  local scheme=${url%%:*}
  [ "$scheme" != "$url" ] || scheme="(none)"
  echo "notify: ALERT_WEBHOOK_URL must be an https:// URL, got one with the scheme '$scheme'" >&2
  return 2
}

# notify <level> <text>: level is one of ok, warning, failure, resolved. Returns non-zero
# when the webhook did not accept the message (callers already failing keep their own code).
notify() {
  local level=$1 text=$2 icon body timeout protocols=https
  case "$level" in
    ok) icon="OK" ;;
    warning) icon="WARNING" ;;
    failure) icon="FAILURE" ;;
    resolved) icon="RESOLVED" ;;
    *) echo "notify: unknown level '$level' (expected ok, warning, failure or resolved)" >&2; return 2 ;;
  esac
  text="${ALERT_PREFIX:+$ALERT_PREFIX }$icon: $text"
  echo "$text" >&2
  if [ -z "${ALERT_WEBHOOK_URL:-}" ]; then
    return 0
  fi
  case "${ALERT_WEBHOOK_FORMAT:-discord}" in
    discord) body="{\"content\":\"$(json_escape "$text")\"}" ;;
    slack) body="{\"text\":\"$(json_escape "$text")\"}" ;;
    *) echo "notify: ALERT_WEBHOOK_FORMAT must be discord or slack, got '${ALERT_WEBHOOK_FORMAT}'" >&2; return 2 ;;
  esac
  notify_check_url || return 2
  timeout=${ALERT_WEBHOOK_TIMEOUT_SECONDS:-10}
  [[ "$timeout" =~ ^[1-9][0-9]*$ ]] || timeout=10
  [ "${ALERT_WEBHOOK_ALLOW_HTTP_LOOPBACK:-}" != 1 ] || protocols=http,https
  printf 'url = "%s"\n' "$ALERT_WEBHOOK_URL" |
    curl --silent --show-error --fail --max-time "$timeout" --connect-timeout "$timeout" \
      --proto "=$protocols" --proto-redir =https \
      --header 'Content-Type: application/json' --data-binary "$body" \
      --output /dev/null --config -
}

# --- problem alerts, deduplicated (as Alertmanager does) ------------------------------
# A job names each problem it finds with a stable id (alerts_problem). alerts_due says
# whether this run must alert: when a problem is new, when the reminder interval has passed
# since it was last alerted, or when the last alert did not get through. alerts_sent
# records a delivery; alerts_resolve sends one RESOLVED notice for the problems alerted
# before that are gone now. State: one file per open problem in $ALERT_STATE_DIR
# ("<first-seen> <last-alerted>" then its text). Without a state directory every run alerts.
ALERTS_IDS=()
ALERTS_TEXTS=()

alerts_dir() {
  local dir=${ALERT_STATE_DIR:-${STATE_DIRECTORY:+$STATE_DIRECTORY/alerts}}
  [ -n "$dir" ] || return 1
  mkdir -p "$dir" 2>/dev/null || return 1
  printf '%s\n' "$dir"
}

alerts_file() {
  printf '%s/%s' "$1" "$(printf '%s' "$2" | sha256sum | cut -c1-16)"
}

# alerts_problem <id> <text>: a problem this run found.
alerts_problem() {
  ALERTS_IDS+=("$1")
  ALERTS_TEXTS+=("$2")
}

# alerts_due: 0 when this run must send its problem alert; else prints why not on stderr.
alerts_due() {
  local dir now reminder i file first last
  [ "${#ALERTS_IDS[@]}" -gt 0 ] || return 1
  dir=$(alerts_dir) || return 0
  now=$(date +%s)
  reminder=${ALERT_REMINDER_MINUTES:-240}
  [[ "$reminder" =~ ^[1-9][0-9]*$ ]] || reminder=240
  for i in "${!ALERTS_IDS[@]}"; do
    file=$(alerts_file "$dir" "${ALERTS_IDS[$i]}")
    [ -f "$file" ] || return 0
    read -r first last <"$file" || return 0
    [[ "$last" =~ ^[0-9]+$ ]] && [ "$last" -gt 0 ] || return 0
    [ $((now - last)) -lt $((reminder * 60)) ] || return 0
  done
  echo "notify: alert not repeated: every problem was alerted less than $reminder min ago (ALERT_REMINDER_MINUTES)" >&2
  return 1
}

# alerts_sent <delivered:0|1>: records this run's problems; a delivered alert restarts their
# reminder interval, an undelivered one is retried by the next run.
alerts_sent() {
  local delivered=$1 dir now i file first last
  dir=$(alerts_dir) || return 0
  now=$(date +%s)
  for i in "${!ALERTS_IDS[@]}"; do
    file=$(alerts_file "$dir" "${ALERTS_IDS[$i]}")
    first=$now last=0
    [ ! -f "$file" ] || read -r first last <"$file" || true
    [ "$delivered" != 1 ] || last=$now
    printf '%s %s\n%s\n' "$first" "${last:-0}" "${ALERTS_TEXTS[$i]}" >"$file.tmp" && mv -f "$file.tmp" "$file"
  done
}

# alerts_since <id>: when the problem was first seen (Unix seconds), if it is open.
alerts_since() {
  local dir file first
  dir=$(alerts_dir) || return 1
  file=$(alerts_file "$dir" "$1")
  [ -f "$file" ] && read -r first _ <"$file" && printf '%s\n' "$first"
}

# alerts_resolve <what>: one RESOLVED notice naming the problems alerted earlier that this
# run did not find; they are forgotten once the notice got through.
alerts_resolve() {
  local what=$1 dir file i keep now first text gone=() files=() message
  dir=$(alerts_dir) || return 0
  now=$(date +%s)
  declare -A current=()
  for i in "${!ALERTS_IDS[@]}"; do
    current[$(alerts_file "$dir" "${ALERTS_IDS[$i]}")]=1
  done
  for file in "$dir"/*; do
    if [ ! -f "$file" ] || [ "${file%.tmp}" != "$file" ]; then continue; fi
    [ -z "${current[$file]:-}" ] || continue
    keep=$(sed -n 2p "$file")
    read -r first _ <"$file" || first=$now
    [[ "$first" =~ ^[0-9]+$ ]] || first=$now
    text="${keep%%$'\n'*} (for $(((now - first + 59) / 60)) min)"
    gone+=("$text")
    files+=("$file")
  done
  [ "${#gone[@]}" -gt 0 ] || return 0
  message="$what: no longer failing: $(printf '%s; ' "${gone[@]}")"
  if notify resolved "$message"; then
    rm -f "${files[@]}"
  else
    return 1
  fi
}

# alerts_report <headline> <what>: the one alert of a run that found problems
# (alerts_problem): "<headline>" and each problem's text on a line of its own, sent when
# alerts_due says so; then one RESOLVED notice, "<what>: no longer failing: ...", for what was
# alerted before and passes now. Returns non-zero when either could not be delivered (the next
# run tries again).
alerts_report() {
  local headline=$1 what=$2 delivered=0 status=0
  if [ "${#ALERTS_IDS[@]}" -gt 0 ] && alerts_due; then
    notify failure "$headline"$'\n'"$(printf '%s\n' "${ALERTS_TEXTS[@]}")" && delivered=1
    alerts_sent "$delivered"
    [ "$delivered" = 1 ] || status=1
  fi
  alerts_resolve "$what" || status=1
  return "$status"
}

# notify_failed_run <headline> <passed-label> <n> <failure>... [<passed>...]: one failure
# alert for a run, "<headline> FAILED: f1; f2; <passed-label>: p1; p2; " -- the first <n>
# items are the failures, the rest what went well (omitted when none).
notify_failed_run() {
  local headline=$1 label=$2 n=$3 message
  shift 3
  message="$headline FAILED: $(printf '%s; ' "${@:1:$n}")"
  shift "$n"
  [ "$#" -eq 0 ] || message+=" $label: $(printf '%s; ' "$@")"
  notify failure "$message"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  if [ "$#" -ne 2 ]; then
    echo "usage: notify.sh <ok|warning|failure|resolved> <text>" >&2
    exit 2
  fi
  notify "$1" "$2"
fi
