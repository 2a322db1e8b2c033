#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Point-in-time recovery for a person, as restore.sh's pitr commands (restore.sh sources
# this file; the PointInTimeRecovery component installs both, with the PITR restore check):
#
#   restore.sh pitr --to '<timestamp>' [--set <label>] [--port <port>] [--unchecked]
#   restore.sh pitr-promote <name>
#   restore.sh pitr-discard <name>
#
# pitr        builds the cluster as it was at <timestamp> ('2026-12-01 14:05:00+00'; UTC
#             when no zone is given) on a NEW volume "<PITR_VOLUME_PREFIX>-<YYYYmmdd>t<HHMMSS>"
#             and serves it on 127.0.0.1:<port> (default 55432) for inspection. The live
#             cluster is never touched, and nothing is created before every check passed:
#             - a verified backup set must end before <timestamp> (the newest such one is
#               used, or --set names it; with an explicit set pgBackRest checks nothing, so
#               this script does);
#             - <timestamp> must be in the past, and the WAL after it must be in the
#               repository: a marker is written to the live cluster, WAL is switched, and
#               the script waits until that segment is archived. If the live cluster does not
#               answer this cannot be checked: --unchecked restores anyway, and PostgreSQL
#               then says where the archive ends if it ends before <timestamp>.
#             Recovery is complete when postmaster.pid says "ready" (hot_standby=off), not
#             when pg_ctl returns.
# pitr-promote  makes <name> ready to become the live data volume: resets the recovery
#             settings pgBackRest wrote (restore_command, archive_mode=off), stops the
#             inspection server cleanly, and prints the stack-config change and `pulumi up`
#             that switch the service to it. That `pulumi up` keeps the old volume (retained,
#             still in the stack) and starts a PITR full backup at once (docs/runbook.md).
# pitr-discard  removes the inspection server and its volume (never the live one's).
#
# Environment: see pitr.sh; and
#   PITR_VOLUME_PREFIX      start of a recovered volume's name (<app>-<env>-postgres-data)
#   PITR_ARCHIVE_WAIT_SECONDS, PITR_READY_TIMEOUT_SECONDS, PITR_RESTORE_TIMEOUT_SECONDS (pitr-restore-check.sh)
#
# Exit status: 0 done; 1 the restore failed (the new volume removed); 2 usage, or a check
# refused the target (nothing was created).

# pitr_name_ok <name>: a recovered volume's name this script may touch.
pitr_name_ok() {
  [[ "$1" =~ ^[a-z0-9][a-z0-9_.-]*$ ]] && [[ "$1" == "${PITR_VOLUME_PREFIX:-pitr}"-* ]]
}

# pitr_live_volume: (docker) the volume the live container's data directory is on.
pitr_live_volume() {
  job_docker "${DOCKER_TIMEOUT_SECONDS:-60}" inspect --format '{{range .Mounts}}{{if eq .Destination "/var/lib/postgresql/data"}}{{.Name}}{{end}}{{end}}' "$PITR_CONTAINER"
}

pitr_restore_cmd() {
  local target_arg="" set="" port=55432 unchecked=0 target_epoch target now name info set_line set_label set_type set_stop out status seconds
  while [ "$#" -gt 0 ]; do
    case "$1" in
      --to) target_arg=${2:-}; shift 2 || return 2 ;;
      --set) set=${2:-}; shift 2 || return 2 ;;
      --port) port=${2:-}; shift 2 || return 2 ;;
      --unchecked) unchecked=1; shift ;;
      *) echo "restore: unknown pitr option '$1'" >&2; return 2 ;;
    esac
  done
  [ -n "$target_arg" ] || { echo "restore: pitr needs --to '<timestamp>', e.g. --to '2026-12-01 14:05:00+00'" >&2; return 2; }
  [[ "$port" =~ ^[1-9][0-9]{2,4}$ ]] || { echo "restore: --port must be a TCP port, got '$port'" >&2; return 2; }
  target_epoch=$(pitr_epoch "$target_arg") || { echo "restore: '$target_arg' is not a timestamp (e.g. '2026-12-01 14:05:00+00')" >&2; return 2; }
  target=$(pitr_timestamp "$target_epoch")
  now=$(date +%s)
  if [ "${target_epoch%%.*}" -ge "$now" ]; then
    echo "restore: $target is after the last archived WAL (it is not even past yet: now is $(pitr_timestamp "$now")): nothing was started" >&2
    return 2
  fi
  name="${PITR_VOLUME_PREFIX:-pitr}-$(date -u -d "@$target_epoch" +%Y%m%dt%H%M%S)"
  pitr_name_ok "$name" || { echo "restore: PITR_VOLUME_PREFIX '${PITR_VOLUME_PREFIX:-}' does not make a volume name" >&2; return 2; }
  if pitr_scratch_exists "$name"; then
    echo "restore: $name already exists (a restore to this second): inspect it, or remove it with: restore.sh pitr-discard $name" >&2
    return 2
  fi

  if pitr_psql "$PITR_MARKER_DATABASE" "INSERT INTO marker (note) VALUES ('restore.sh pitr end marker')" >/dev/null 2>&1 ||
    pitr_psql postgres "SELECT 1" >/dev/null 2>&1; then
    echo "restore: waiting until the live cluster's WAL up to now is archived (at most ${PITR_ARCHIVE_WAIT_SECONDS:-300} s)" >&2
    if ! pitr_switch_and_wait "${PITR_ARCHIVE_WAIT_SECONDS:-300}"; then
      echo "restore: the WAL after $target is not in the repository yet, so the restore could not reach it: nothing was started" >&2
      return 2
    fi
  elif [ "$unchecked" = 1 ]; then
    echo "restore: the live cluster does not answer; restoring without knowing where the archive ends (--unchecked)" >&2
  else
    echo "restore: the live cluster does not answer, so it cannot be checked that the WAL after $target was archived; pass --unchecked to restore anyway (PostgreSQL then stops where the archive ends): nothing was started" >&2
    return 2
  fi
  info="$RESTORE_WORK/info.json"
  pitr_info "$info" || { echo "restore: the repository cannot be read: nothing was started" >&2; return 1; }
  set_line=$(pitr_pick_set "$info" "$target_epoch" "$set") || { echo "restore: nothing was started" >&2; return 2; }
  read -r set_label set_type _ set_stop _ <<<"$set_line"
  echo "restore: backup set $set_label ($set_type, ended $(date -u -d "@$set_stop" +%FT%TZ)) is the newest verified one before $target" >&2

  local gaps
  if gaps=$(pitr_gap_check "$info" "$(awk '{ print $5 }' <<<"$set_line")" 2>/dev/null); then :; else
    [ -z "$gaps" ] || echo "restore: WARNING: the WAL archive has gaps after set $set_label; the restore fails if $target is after one: $(printf '%s' "$gaps" | tr '\n' ';')" >&2
  fi

  local env_file=-
  if [ "${DB_ACCESS:-docker}" = docker ]; then
    env_file="$RESTORE_WORK/pgbackrest.env"
    pitr_scratch_env_file "$env_file" || { echo "restore: cannot read the live container's pgBackRest settings" >&2; return 1; }
  fi
  pitr_scratch_create "$name" "vps.pitr-recovered=$target" || { echo "restore: cannot create $name" >&2; return 1; }
  PITR_RESTORING=$name
  seconds=$(date +%s)
  echo "restore: restoring set $set_label into the new volume $name, recovery to $target" >&2
  status=0
  out=$(pitr_restore_to "$name" "$set_label" "$target" "$env_file") || status=$?
  if [ "$status" -ne 0 ]; then
    echo "restore: pgbackrest restore exited $status: $(printf '%s' "$out" | tail -n 4)" >&2
    pitr_restore_abort
    return 1
  fi
  if ! pitr_scratch_start "$name" "$env_file" loopback "$port" || ! pitr_scratch_wait_ready "$name" "${PITR_READY_TIMEOUT_SECONDS:-1800}"; then
    echo "restore: recovery to $target failed; the server's last words:" >&2
    pitr_scratch_log "$name" | grep -E 'FATAL|PANIC|ERROR|last completed transaction|redo done|recovery stopping' | tail -n 6 >&2
    pitr_restore_abort
    return 1
  fi
  PITR_RESTORING=""
  echo "restore: recovered to $target from set $set_label in $(($(date +%s) - seconds)) s" >&2
  cat <<EOF
recovered: $name, as of $target (set $set_label)
inspect:   psql -h 127.0.0.1 -p $port -U ${PITR_PG_USER} <database>   (the roles and passwords of the live cluster)
promote:   restore.sh pitr-promote $name      (then the stack-config change it prints, and pulumi up)
discard:   restore.sh pitr-discard $name
EOF
}

# pitr_restore_abort: removes the half-built cluster of a failed restore.
pitr_restore_abort() {
  if [ -n "${PITR_RESTORING:-}" ]; then
    pitr_scratch_remove "$PITR_RESTORING" && echo "restore: removed $PITR_RESTORING" >&2
    PITR_RESTORING=""
  fi
}

pitr_promote_cmd() {
  local name=${1:-} live="" kept
  pitr_name_ok "$name" || { echo "restore: pitr-promote needs the name a pitr restore printed ('${PITR_VOLUME_PREFIX:-}-...')" >&2; return 2; }
  pitr_scratch_exists "$name" || { echo "restore: there is no $name" >&2; return 2; }
  if ! pitr_scratch_running "$name"; then
    echo "restore: $name is not being served; restore it again (restore.sh pitr --to ...) or promote an inspected one" >&2
    return 2
  fi
  # pgBackRest wrote these for the recovery; as the live cluster it archives again.
  if ! pitr_scratch_psql "$name" postgres "ALTER SYSTEM RESET restore_command" >/dev/null ||
    ! pitr_scratch_psql "$name" postgres "ALTER SYSTEM RESET archive_mode" >/dev/null; then
    echo "restore: could not reset the recovery settings of $name" >&2
    return 1
  fi
  pitr_scratch_stop "$name"
  echo "restore: $name is stopped cleanly and ready to be the live data volume" >&2
  if [ "${DB_ACCESS:-docker}" = docker ]; then
    live=$(pitr_live_volume 2>/dev/null) || live=""
  fi
  kept=""
  if [ -n "$live" ] && [ "$live" != "${PITR_VOLUME_PREFIX:-}" ]; then
    kept="pulumi config set --path 'postgres.keptVolumes[<next index>]' $live   # the volume in use now stays in the stack"
  fi
  cat <<EOF
promote $name: in the stack's checkout, with the stack selected:
  pulumi config set --path postgres.dataVolume $name
${kept:+  $kept
}  pulumi up
pulumi up replaces the PostgreSQL container onto $name (a short outage: stop the applications first if they must not write to the old cluster meanwhile), keeps ${live:-the volume in use now} (retained, and protected in production), and starts a PITR full backup at once.
EOF
}

pitr_discard_cmd() {
  local name=${1:-} live=""
  pitr_name_ok "$name" || { echo "restore: pitr-discard needs the name a pitr restore printed ('${PITR_VOLUME_PREFIX:-}-...')" >&2; return 2; }
  if [ "${DB_ACCESS:-docker}" = docker ]; then
    live=$(pitr_live_volume 2>/dev/null) || live=""
    if [ "$live" = "$name" ]; then
      echo "restore: $name is the live cluster's volume: refusing to remove it" >&2
      return 2
    fi
  fi
  pitr_scratch_exists "$name" || { echo "restore: there is no $name" >&2; return 2; }
  pitr_scratch_remove "$name" || { echo "restore: could not remove $name" >&2; return 1; }
  echo "restore: removed $name" >&2
}

# pitr_main <command> [args...]: restore.sh's entry for the pitr commands.
pitr_main() {
  local command=$1
  shift
  # shellcheck disable=SC2034 # read by job.sh's messages
  JOB_NAME="restore $command"
  pitr_check_config
  # shellcheck disable=SC2317 # called by job.sh's signal handler
  job_cleanup() { pitr_restore_abort 2>&1; }
  case "$command" in
    pitr) pitr_restore_cmd "$@" ;;
    pitr-promote) pitr_promote_cmd "$@" ;;
    pitr-discard) pitr_discard_cmd "$@" ;;
  esac
}
