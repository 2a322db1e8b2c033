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
#
# The URL is a secret: it is passed to curl through a config file on stdin, never on
# the command line, so it does not show up in `ps`.

json_escape() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\n'/\\n}
  s=${s//$'\r'/\\r}
  s=${s//$'\t'/\\t}
  printf '%s' "$s"
}

# notify <level> <text>: level is one of ok, warning, failure. Returns non-zero when
# the webhook did not accept the message (callers already failing keep their own code).
notify() {
  local level=$1 text=$2 icon body
  case "$level" in
    ok) icon="OK" ;;
    warning) icon="WARNING" ;;
    failure) icon="FAILURE" ;;
    *) echo "notify: unknown level '$level' (expected ok, warning or failure)" >&2; return 2 ;;
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
  printf 'url = "%s"\n' "$ALERT_WEBHOOK_URL" |
    curl --silent --show-error --fail --max-time 10 --retry 2 \
      --header 'Content-Type: application/json' --data-binary "$body" \
      --output /dev/null --config -
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
    echo "usage: notify.sh <ok|warning|failure> <text>" >&2
    exit 2
  fi
  notify "$1" "$2"
fi
