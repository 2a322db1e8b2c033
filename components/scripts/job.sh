#!/usr/bin/env bash
# What every job script shares (sourced after notify.sh): reading an env file without running
# it, refusing settings with Windows line endings, the checks a backup script makes before it
# touches anything, the run lock, the alert on SIGTERM/SIGINT, and timeouts on the Docker
# client.
#
#   . "$here/notify.sh"; . "$here/job.sh"; JOB_NAME="backup"; job_trap_signals
#
# Environment:
#   VPS_JOBS_ENV_OWNER_UID   owner an env file must have; default 0 (root). Only tests set it,
#                            so that they can run as an ordinary user.
#   JOB_LOCK_DIR             where run locks live; default /run/lock (else $TMPDIR or /tmp)
#   DOCKER                   the docker client; default docker
#   DOCKER_TIMEOUT_SECONDS   limit of one short Docker call (inspect, restart, a query through
#                            docker exec); default 60

JOB_NAME=${JOB_NAME:-job}
JOB_STARTED=$(date +%s)
# What the job is doing now, for the termination alert ("uploading postgres-shop").
JOB_DOING=""

# job_say <text>: prints "<job>: <text>" on stderr.
job_say() {
  printf '%s: %s\n' "$JOB_NAME" "$*" >&2
}

# job_load_env_file <file>: exports the KEY="value" lines of an env file as ScheduledJob writes
# it (systemd's EnvironmentFile= syntax: "..." with \-escapes, or a bare word; # comments),
# without executing anything. Refuses (status 2) a file not owned by root (or
# VPS_JOBS_ENV_OWNER_UID) or writable by its group or others: a root job must not take its
# settings from a file another user could have written. The checks are made on the opened
# file, so it cannot be swapped between the check and the read.
job_load_env_file() {
  local file=$1 expected=${VPS_JOBS_ENV_OWNER_UID:-0} fd owner mode n=0 line key value who
  if ! exec {fd}<"$file"; then
    job_say "cannot read the env file $file"
    return 2
  fi
  if ! owner=$(stat -L -c %u "/dev/fd/$fd") || ! mode=$(stat -L -c %a "/dev/fd/$fd"); then
    exec {fd}<&-
    job_say "cannot stat the env file $file"
    return 2
  fi
  who="uid $expected"
  [ "$expected" != 0 ] || who="root"
  if [ "$owner" != "$expected" ]; then
    exec {fd}<&-
    job_say "refusing the env file $file: it is owned by uid $owner, not $who (sudo chown root:root $file)"
    return 2
  fi
  if (((8#$mode & 8#022) != 0)); then
    exec {fd}<&-
    job_say "refusing the env file $file: its mode $mode lets group or others write it (sudo chmod 0600 $file)"
    return 2
  fi
  while IFS= read -r line <&"$fd" || [ -n "$line" ]; do
    n=$((n + 1))
    if [[ "$line" == *$'\r' ]]; then
      exec {fd}<&-
      job_say "the env file $file has Windows (CRLF) line endings (line $n); convert it: sudo sed -i 's/\\r\$//' $file"
      return 2
    fi
    case "$line" in '' | '#'* | ';'*) continue ;; esac
    if [[ "$line" =~ ^([A-Za-z_][A-Za-z0-9_]*)=\"((\\.|[^\\\"])*)\"$ ]]; then
      key=${BASH_REMATCH[1]}
      value=$(printf '%s' "${BASH_REMATCH[2]}" | sed 's/\\\(.\)/\1/g')
    elif [[ "$line" =~ ^([A-Za-z_][A-Za-z0-9_]*)=([^\"\'\\[:space:]]*)$ ]]; then
      key=${BASH_REMATCH[1]}
      value=${BASH_REMATCH[2]}
    else
      exec {fd}<&-
      job_say "the env file $file: line $n is not KEY=\"value\""
      return 2
    fi
    export "$key=$value"
  done
  exec {fd}<&-
}

# job_reject_crlf: fails (status 2) naming the first setting of the jobs (S3_*, BACKUP_*,
# ALERT_*, HC_*, the host jobs' PRUNE_*, DISK_*, EDGE_*, ...) whose value holds a carriage return: systemd keeps the \r of a CRLF env
# file in the value, where it would otherwise surface as a bad prefix or an unknown container.
job_reject_crlf() {
  local v
  for v in $(compgen -e); do
    case "$v" in
      S3_* | BACKUP_* | ALERT_* | HC_* | REDIS_* | RESTORE_CHECK_* | VOLUME_* | DB_ACCESS | MAX_BACKUP_AGE_HOURS | PG* | PRUNE_* | DISK_* | EDGE_* | DOCKER*) ;;
      *) continue ;;
    esac
    if [[ "${!v}" == *$'\r'* ]]; then
      job_say "$v ends with a carriage return: the env file has Windows (CRLF) line endings; convert it (sed -i 's/\\r\$//' <file>)"
      return 2
    fi
  done
}

# job_fail_config <reason>: a bad configuration: alerts "<JOB_NAME> not run: <reason>" and
# exits 2 (which the units do not retry).
job_fail_config() {
  notify failure "$JOB_NAME not run: $1" || true
  exit 2
}

# job_check_alert_config: what every job that alerts checks first: no setting with a Windows
# line ending (job_reject_crlf) and a webhook URL notify.sh can post to. A problem is a bad
# configuration (job_fail_config).
job_check_alert_config() {
  local crlf
  crlf=$(job_reject_crlf 2>&1) || job_fail_config "${crlf#*: }"
  notify_check_url || job_fail_config "ALERT_WEBHOOK_URL is not an https:// URL (see the log)"
}

# job_check_backup_config: what a script that writes or reads backups (backup.sh,
# restore-check.sh; s3.sh sourced) checks before it touches anything: no setting with a
# Windows line ending, a webhook URL notify.sh can post to, the object store configured
# (s3_init), DB_ACCESS docker or local, and at least one source. Sets the arrays
# postgres_entries, redis_entries and volume_entries from BACKUP_POSTGRES, BACKUP_REDIS and
# BACKUP_VOLUMES. A problem is a bad configuration (job_fail_config).
job_check_backup_config() {
  job_check_alert_config
  s3_init || job_fail_config "the object store is not configured (see the log)"
  case "${DB_ACCESS:-docker}" in
    docker | local) ;;
    *) job_fail_config "DB_ACCESS must be docker or local, got '${DB_ACCESS}'" ;;
  esac
  # shellcheck disable=SC2034 # read by the script that calls this
  read -r -a postgres_entries <<<"${BACKUP_POSTGRES:-}"
  # shellcheck disable=SC2034 # read by the script that calls this
  read -r -a redis_entries <<<"${BACKUP_REDIS:-}"
  # shellcheck disable=SC2034 # read by the script that calls this
  read -r -a volume_entries <<<"${BACKUP_VOLUMES:-}"
  if [ "${#postgres_entries[@]}" -eq 0 ] && [ "${#redis_entries[@]}" -eq 0 ] && [ "${#volume_entries[@]}" -eq 0 ]; then
    job_fail_config "BACKUP_POSTGRES, BACKUP_REDIS and BACKUP_VOLUMES are all empty"
  fi
}

# job_volume_dir <volume>: prints the directory of a Docker volume on this host (its
# Mountpoint; the local driver keeps it under /var/lib/docker/volumes), or fails with the
# reason on stderr.
job_volume_dir() {
  local dir
  if ! dir=$(job_docker "${DOCKER_TIMEOUT_SECONDS:-60}" volume inspect --format '{{.Mountpoint}}' "$1" 2>&1); then
    echo "the Docker volume $1 cannot be inspected: ${dir//$'\n'/ }" >&2
    return 1
  fi
  if [ ! -d "$dir" ]; then
    echo "the mountpoint '$dir' of the volume $1 is not a directory on this host (not the local driver?)" >&2
    return 1
  fi
  printf '%s\n' "$dir"
}

# job_volume_users <volume>: the ids of the running containers that mount the volume.
job_volume_users() {
  job_docker "${DOCKER_TIMEOUT_SECONDS:-60}" ps --quiet --no-trunc --filter "volume=$1" --filter status=running
}

# job_work_dir <name>: creates and prints a private directory for the run's temporary files:
# in systemd's StateDirectory (on the root file system; /tmp may be a small tmpfs), else
# $TMPDIR or /tmp. The caller removes it (trap ... EXIT).
job_work_dir() {
  mktemp -d "${STATE_DIRECTORY:-${TMPDIR:-/tmp}}/$1.XXXXXX"
}

# job_run_id: 8 hex digits unique to this run (object keys, scratch names).
job_run_id() {
  od -An -N4 -tx1 /dev/urandom | tr -d ' \n'
}

# job_lock <name>: takes the run lock <JOB_LOCK_DIR>/vps-jobs-<name>.lock on fd 9 for the
# rest of the process. Returns 3 when another run holds it (its start time in $JOB_LOCK_HELD_SINCE).
job_lock() {
  local dir=${JOB_LOCK_DIR:-/run/lock}
  [ -d "$dir" ] && [ -w "$dir" ] || dir=${TMPDIR:-/tmp}
  JOB_LOCK_FILE="$dir/vps-jobs-$1.lock"
  exec 9<>"$JOB_LOCK_FILE"
  if ! flock --nonblock 9; then
    JOB_LOCK_HELD_SINCE=""
    read -r JOB_LOCK_HELD_SINCE _ <"$JOB_LOCK_FILE" 2>/dev/null || true
    [[ "$JOB_LOCK_HELD_SINCE" =~ ^[0-9]+$ ]] || JOB_LOCK_HELD_SINCE=$JOB_STARTED
    return 3
  fi
  # The holder's start time, for a later run that finds the lock taken.
  printf '%s %s\n' "$JOB_STARTED" "$$" >"$JOB_LOCK_FILE"
}

# job_trap_signals: on SIGTERM (systemd stop or TimeoutStartSec), SIGINT (Ctrl-C) or SIGHUP,
# runs the script's job_cleanup (if defined), sends one failure alert saying what was
# interrupted, and exits 128+signal. systemd signals the whole control group, so the running
# tools stop too and bash runs this at once.
job_trap_signals() {
  trap 'job_terminated TERM 143' TERM
  trap 'job_terminated INT 130' INT
  trap 'job_terminated HUP 129' HUP
}

job_terminated() {
  local signal=$1 code=$2 cleaned=""
  trap '' TERM INT HUP
  if declare -F job_cleanup >/dev/null; then
    cleaned=$(job_cleanup 2>&1) || true
  fi
  notify failure "$JOB_NAME interrupted by SIG$signal after $(($(date +%s) - JOB_STARTED)) s${JOB_DOING:+ while $JOB_DOING}; nothing from this run counts as done${cleaned:+ ($cleaned)}" || true
  exit "$code"
}

# job_docker <seconds> <docker args...>: the docker client with a time limit, so a hung daemon
# fails the call instead of the whole run; status 124 when it did not answer in time.
job_docker() {
  local seconds=$1
  shift
  timeout --kill-after=5 "$seconds" "${DOCKER:-docker}" "$@"
}

# job_docker_ping: fails (with the reason on stderr) when the Docker daemon does not answer
# `docker version` within DOCKER_TIMEOUT_SECONDS.
job_docker_ping() {
  local t=${DOCKER_TIMEOUT_SECONDS:-60} out status=0
  out=$(job_docker "$t" version --format '{{.Server.Version}}' 2>&1) || status=$?
  if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    echo "the Docker daemon did not answer within $t s (hung?)" >&2
    return 1
  elif [ "$status" -ne 0 ]; then
    echo "the Docker daemon cannot be reached: ${out//$'\n'/ }" >&2
    return 1
  fi
}
