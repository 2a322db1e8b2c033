#!/usr/bin/env bash
# What the point-in-time-recovery jobs share (sourced after notify.sh and job.sh): where
# pgBackRest and psql run, every pgBackRest call under a time limit, reading the
# repository's backup sets, the WAL gap check, and a scratch cluster built from the
# repository (the restore check's and restore.sh pitr's).
#
# pgBackRest takes every option from the PGBACKREST_* variables of the database side (the
# container's environment on the VPS, written by the PostgresService; the caller's
# environment with DB_ACCESS=local): these scripts never hold the repository's settings or
# secrets, so a job runs exactly what archive_command runs.
#
# Where things run (DB_ACCESS, as db.sh):
#   docker (the VPS)   `docker exec -i -u postgres <PITR_CONTAINER> ...` for the live cluster;
#                      a scratch cluster is a new Docker volume and a throwaway container from
#                      the live container's image, on PITR_NETWORK (the one route to the store)
#   local  (tests)     `runuser -u <PITR_LOCAL_USER> -- ...` on this host, the live cluster
#                      at PGHOST/PGPORT; a scratch cluster is a directory under
#                      PITR_SCRATCH_DIR served by pg_ctl from PITR_PG_BINDIR
# Only this prefix differs between the two: the jobs' logic is the same.
#
# Environment:
#   DB_ACCESS                  docker (default) | local
#   PITR_CONTAINER             the live PostgreSQL container (docker)
#   PITR_PG_USER               the role psql connects as (a superuser: pg_ls_archive_statusdir)
#   PITR_MARKER_DATABASE       the markers' database; default vps_pitr
#   PITR_TIMEOUT_SECONDS       limit of a short pgBackRest call (info, stanza-create,
#                              annotate, repo-ls); default 120. With the store down, `check`
#                              waited 481 s: no call runs without a limit
#   PITR_NETWORK               (docker) the network of a scratch container
#   PITR_MEMORY_MB             (docker) memory limit of a scratch container; default 512
#   PITR_LOCAL_USER            (local) the user pgBackRest and the clusters run as; default postgres
#   PITR_PG_BINDIR             (local) where pg_ctl and postgres are
#   PITR_SCRATCH_DIR           (local) where scratch clusters go; default $STATE_DIRECTORY or /tmp
#   PITR_WAL_SEGMENT_MB        WAL segment size when the live cluster cannot say; default 16
#   DOCKER_TIMEOUT_SECONDS     limit of a short Docker or psql call (job.sh); default 60

PITR_MARKER_DATABASE=${PITR_MARKER_DATABASE:-vps_pitr}
# The one annotation that says a backup set passed `pgbackrest verify` (pitr-backup.sh): only
# such a set counts, and only such a set is restored from.
PITR_VERIFIED_KEY=vps-verified
PITR_PGDATA_IN_CONTAINER=/var/lib/postgresql/data/pgdata
PITR_PREFIX=()

# pitr_check_config: what every PITR script checks before it touches anything (exit 2 via
# job_fail_config): no CRLF, a webhook notify.sh takes, the exec prefix usable, jq present.
# Also keeps the alert state in the unit's StateDirectory unless ALERT_STATE_DIR says otherwise.
pitr_check_config() {
  export ALERT_STATE_DIR=${ALERT_STATE_DIR:-${STATE_DIRECTORY:+$STATE_DIRECTORY/alerts}}
  local crlf v
  crlf=$(job_reject_crlf 2>&1) || job_fail_config "${crlf#*: }"
  for v in $(compgen -e); do
    case "$v" in PITR_* | PGBACKREST_*) ;; *) continue ;; esac
    [[ "${!v}" != *$'\r'* ]] || job_fail_config "$v ends with a carriage return: the env file has Windows (CRLF) line endings"
  done
  notify_check_url || job_fail_config "ALERT_WEBHOOK_URL is not an https:// URL (see the log)"
  command -v jq >/dev/null || job_fail_config "jq is not installed on this host (apt-get install jq)"
  [[ "${PITR_PG_USER:-}" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || job_fail_config "PITR_PG_USER must be a role name, got '${PITR_PG_USER:-}'"
  for v in PITR_TIMEOUT_SECONDS PITR_BACKUP_TIMEOUT_SECONDS PITR_VERIFY_TIMEOUT_SECONDS PITR_RESTORE_TIMEOUT_SECONDS PITR_LAG_LIMIT_SECONDS PITR_ARCHIVE_WAIT_SECONDS PITR_READY_TIMEOUT_SECONDS PITR_MEMORY_MB PITR_WAL_SEGMENT_MB; do
    [ -z "${!v:-}" ] || [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || job_fail_config "$v must be a whole number, got '${!v}'"
  done
  case "${DB_ACCESS:-docker}" in
    docker)
      [ -n "${PITR_CONTAINER:-}" ] || job_fail_config "PITR_CONTAINER is not set (the live PostgreSQL container)" ;;
    local)
      [ -x "${PITR_PG_BINDIR:-}/pg_ctl" ] || job_fail_config "PITR_PG_BINDIR '${PITR_PG_BINDIR:-}' holds no pg_ctl" ;;
    *) job_fail_config "DB_ACCESS must be docker or local, got '${DB_ACCESS}'" ;;
  esac
  pitr_prefix
}

# --- the live cluster -----------------------------------------------------------------

# pitr_lock <name> <what>: one run at a time (job_lock); when another run holds the lock,
# says since when in the journal and exits 3: this run did nothing.
pitr_lock() {
  local status=0
  job_lock "$1" || status=$?
  if [ "$status" -ne 0 ]; then
    job_say "another $2 has held $JOB_LOCK_FILE since $(date -u -d "@${JOB_LOCK_HELD_SINCE%% *}" +%H:%M:%SZ); this run did nothing"
    exit 3
  fi
}

# pitr_fail <alert id> <title> <text>: a run's one problem: recorded under <alert id>, said
# in the journal, alerted as "<title>: <text>" when due (once, reminded, RESOLVED by the next
# run that passes), and exit 1. The jobs' fail() functions are this with their own title.
pitr_fail() {
  local delivered=0
  alerts_problem "$1" "$3"
  job_say "FAILED: $3"
  if alerts_due; then
    notify failure "$2: $3" && delivered=1
    alerts_sent "$delivered"
  fi
  exit 1
}

# pitr_last_lines <text> [n]: the last n (default 3) non-blank lines of a command's output on
# one line, at most 400 characters: what an alert quotes of pgBackRest or PostgreSQL.
pitr_last_lines() {
  printf '%s' "$1" | grep -v '^[[:space:]]*$' | tail -n "${2:-3}" | tr '\n' ' ' | cut -c1-400
}

# pitr_prefix: the command prefix that runs a program as the database's OS user where the
# live cluster is (the only difference between DB_ACCESS=docker and local), in PITR_PREFIX.
pitr_prefix() {
  if [ "${DB_ACCESS:-docker}" = docker ]; then
    PITR_PREFIX=("${DOCKER:-docker}" exec -i -u postgres "$PITR_CONTAINER")
  else
    PITR_PREFIX=(runuser -u "${PITR_LOCAL_USER:-postgres}" --)
  fi
}

# pitr_exec <command...>: runs a command as the database's OS user where the live cluster is.
pitr_exec() {
  [ "${#PITR_PREFIX[@]}" -gt 0 ] || pitr_prefix
  "${PITR_PREFIX[@]}" "$@"
}

# pitr_pgbackrest <seconds> <pgbackrest args...>: one pgBackRest call, stdout and stderr
# together on stdout, within <seconds> (status 124 past it). The limit is applied inside
# (where pgBackRest runs: a `docker exec` client killed from outside would leave it running,
# holding the stanza's lock) and, a little longer, outside (a hung Docker daemon).
pitr_pgbackrest() {
  local seconds=$1
  shift
  [ "${#PITR_PREFIX[@]}" -gt 0 ] || pitr_prefix
  timeout --kill-after=10 $((seconds + 30)) "${PITR_PREFIX[@]}" timeout "$seconds" pgbackrest --log-level-stderr=off "$@" 2>&1
}

# pitr_psql <database> <sql>: runs SQL on the live cluster as PITR_PG_USER; prints the rows
# (unaligned, tuples only, "|" between columns).
pitr_psql() {
  [ "${#PITR_PREFIX[@]}" -gt 0 ] || pitr_prefix
  timeout --kill-after=5 "${DOCKER_TIMEOUT_SECONDS:-60}" "${PITR_PREFIX[@]}" \
    psql -X --no-password -v ON_ERROR_STOP=1 -qtA -U "$PITR_PG_USER" -d "$1" -c "$2"
}

# pitr_wal_segment_bytes: the live cluster's WAL segment size, else PITR_WAL_SEGMENT_MB.
pitr_wal_segment_bytes() {
  local size
  size=$(pitr_psql postgres "SELECT setting::bigint * (CASE unit WHEN 'B' THEN 1 WHEN 'kB' THEN 1024 WHEN 'MB' THEN 1048576 ELSE 1 END) FROM pg_settings WHERE name = 'wal_segment_size'" 2>/dev/null) || size=""
  [[ "$size" =~ ^[1-9][0-9]*$ ]] || size=$((${PITR_WAL_SEGMENT_MB:-16} * 1048576))
  printf '%s\n' "$size"
}

# pitr_switch_and_wait <seconds>: closes the current WAL segment and waits until the archiver
# has pushed it (or a later one), so every commit before this call is in the repository.
# Status 1 with the reason on stderr when it is not archived in time.
pitr_switch_and_wait() {
  local limit=$1 wal last end
  wal=$(pitr_psql postgres "SELECT pg_walfile_name(pg_switch_wal())") || { echo "pitr: cannot switch WAL on the live cluster" >&2; return 1; }
  end=$(($(date +%s) + limit))
  while :; do
    last=$(pitr_psql postgres "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver") || last=""
    # Names of one timeline sort in WAL order; a later timeline sorts after.
    if [ -n "$last" ] && [[ ! "$last" < "${wal:0:24}" ]]; then
      return 0
    fi
    if [ "$(date +%s)" -ge "$end" ]; then
      echo "pitr: WAL segment $wal was not archived within $limit s (last archived: ${last:-none}): is the store reachable? (the archive-lag check says more)" >&2
      return 1
    fi
    sleep 1
  done
}

# --- the repository -------------------------------------------------------------------

# pitr_stanza_create: `pgbackrest stanza-create` (idempotent), retried while another
# pgBackRest process holds the stanza's archive lock (error 050): stanza-create takes it, and
# the asynchronous archiver holds it while it pushes WAL, so on a busy cluster a single try
# fails now and then. Prints pgBackRest's output; its exit status.
pitr_stanza_create() {
  local out status try
  for try in 1 2 3 4 5 6; do
    status=0
    out=$(pitr_pgbackrest "${PITR_TIMEOUT_SECONDS:-120}" stanza-create) || status=$?
    if [ "$status" -eq 0 ] || ! grep -q 'ERROR: \[050\]' <<<"$out" || [ "$try" -eq 6 ]; then
      printf '%s\n' "$out"
      return "$status"
    fi
    sleep 5
  done
}

# pitr_info <file>: writes `pgbackrest info --output=json` to <file>. Status 1 (the reason on
# stderr) when pgBackRest failed, or the stanza is not ok: `info` exits 0 for a stanza in
# error, so its status code is read (0 ok, 2 no valid backup: both fine here).
pitr_info() {
  local file=$1 out code status=0
  out=$(pitr_pgbackrest "${PITR_TIMEOUT_SECONDS:-120}" info --output=json) || status=$?
  if [ "$status" -eq 124 ]; then
    echo "pitr: pgbackrest info did not answer within ${PITR_TIMEOUT_SECONDS:-120} s: is the store reachable?" >&2
    return 1
  elif [ "$status" -ne 0 ]; then
    echo "pitr: pgbackrest info failed (exit $status): $(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')" >&2
    return 1
  fi
  printf '%s\n' "$out" | sed -n '/^\[/,$p' >"$file"
  code=$(jq -r '.[0].status.code // "none"' "$file" 2>/dev/null) || code=unreadable
  case "$code" in
    0 | 2) return 0 ;;
    *)
      echo "pitr: the repository is not usable: $(jq -r '.[0].status.message // empty' "$file" 2>/dev/null || printf '%s' "$out" | tail -n 2) (info status $code)" >&2
      return 1 ;;
  esac
}

# pitr_verified_sets <info.json>: the counted sets, oldest first: "<label> <type> <start> <stop>
# <archive start> <archive stop>" (times in Unix seconds). A set counts when it has no error
# and pitr-backup.sh annotated it after `pgbackrest verify` passed.
pitr_verified_sets() {
  jq -r --arg key "$PITR_VERIFIED_KEY" '.[0].backup // [] | map(select((.error // false) == false and ((.annotation // {}) | has($key))))
    | sort_by(.timestamp.stop) | .[] | "\(.label) \(.type) \(.timestamp.start) \(.timestamp.stop) \(.archive.start // "-") \(.archive.stop // "-")"' "$1"
}

# pitr_all_labels <info.json>: every set's label, one a line.
pitr_all_labels() {
  jq -r '.[0].backup // [] | .[].label' "$1"
}

# pitr_pick_set <info.json> <target epoch> [label]: the newest counted set whose stop time is
# before the target, or the named one when it counts and ends before the target. pgBackRest
# stores stop times in whole seconds and itself requires stop < target, hence stop + 1 <=
# floor(target): a restore from a set that ends after the target starts, and PostgreSQL then
# dies ("requested recovery stop point is before consistent recovery point"), because with an
# explicit --set pgBackRest checks nothing. Prints the set's line (pitr_verified_sets);
# status 1 with the reason on stderr.
pitr_pick_set() {
  local info=$1 target=${2%%.*} want=${3:-} line label stop best="" first=""
  while read -r line; do
    [ -n "$line" ] || continue
    read -r label _ _ stop _ <<<"$line"
    [ -n "$first" ] || first=$line
    if [ -n "$want" ] && [ "$label" != "$want" ]; then continue; fi
    if [ $((stop + 1)) -le "$target" ]; then best=$line; fi
  done < <(pitr_verified_sets "$info")
  if [ -n "$best" ]; then
    printf '%s\n' "$best"
    return 0
  fi
  if [ -n "$want" ]; then
    if ! pitr_verified_sets "$info" | grep -q "^$want "; then
      echo "pitr: backup set $want is not a verified set of this repository (pitr-backup.sh annotates a set only after verify passed)" >&2
    else
      echo "pitr: backup set $want ends after the target: PostgreSQL could not stop before it" >&2
    fi
  elif [ -z "$first" ]; then
    echo "pitr: the repository holds no verified backup set yet" >&2
  else
    read -r label _ _ stop _ <<<"$first"
    echo "pitr: no verified backup set ends before the target: the oldest ends at $(date -u -d "@$stop" '+%Y-%m-%d %H:%M:%S+00') ($label)" >&2
  fi
  return 1
}

# pitr_gap_check <info.json> <first segment>: lists the archive and reports every hole in the
# WAL chain from <first segment> on ("GAP <from> .. <to> (<n> segments)" on stdout), per
# timeline. Status 0 no gap, 1 a gap, 2 the archive could not be listed. `check`, `info` and
# `verify` all miss a gap left by archive-push-queue-max (the dropped segments are simply not
# there), so the archive itself is counted.
pitr_gap_check() {
  local info=$1 from=$2 stanza archive_id listing per_log names name tl seg prev_tl="" prev=-1 from_seg gaps=0 n
  stanza=$(jq -r '.[0].name' "$info") || return 2
  archive_id=$(jq -r '.[0].archive[-1].id // empty' "$info") || return 2
  [ -n "$archive_id" ] || { echo "pitr: the repository has no archive yet" >&2; return 2; }
  if ! listing=$(pitr_pgbackrest "${PITR_TIMEOUT_SECONDS:-120}" repo-ls --recurse --output=json "archive/$stanza/$archive_id"); then
    echo "pitr: cannot list the archive: $(printf '%s' "$listing" | tail -n 2 | tr '\n' ' ')" >&2
    return 2
  fi
  per_log=$((0x100000000 / $(pitr_wal_segment_bytes)))
  names=$(printf '%s\n' "$listing" | sed -n '/^{/,$p' | jq -r 'keys[]' | sed -n 's|^[0-9A-F]\{16\}/\([0-9A-F]\{24\}\)-[0-9a-f]\{40\}.*$|\1|p' | sort -u)
  from_seg=$((16#${from:8:8} * per_log + 16#${from:16:8}))
  for name in $names; do
    tl=${name:0:8}
    seg=$((16#${name:8:8} * per_log + 16#${name:16:8}))
    [ "$seg" -ge "$from_seg" ] || continue
    if [ "$tl" != "$prev_tl" ]; then
      prev_tl=$tl prev=$seg
      continue
    fi
    if [ "$seg" -gt $((prev + 1)) ]; then
      n=$((seg - prev - 1))
      printf 'GAP %s%08X%08X .. %s%08X%08X (%d segments)\n' "$tl" $(((prev + 1) / per_log)) $(((prev + 1) % per_log)) "$tl" $(((seg - 1) / per_log)) $(((seg - 1) % per_log)) "$n"
      gaps=$((gaps + 1))
    fi
    prev=$seg
  done
  [ "$gaps" -eq 0 ]
}

# pitr_epoch <timestamp>: Unix seconds (with fraction) of a timestamp GNU date reads
# ('2026-12-01 14:05:00+00', '2026-12-01T14:05:00Z', ...). Status 1 when unreadable.
pitr_epoch() {
  date -u -d "$1" +%s.%N 2>/dev/null
}

# pitr_timestamp <epoch>: the form given to pgBackRest and SQL: 'YYYY-mm-dd HH:MM:SS.ffffff+00'.
pitr_timestamp() {
  date -u -d "@$1" '+%Y-%m-%d %H:%M:%S.%6N+00'
}

# --- a scratch cluster built from the repository --------------------------------------
# pitr_scratch_* <name> ...: a cluster of its own, never the live one: docker: volume <name>
# and container <name>; local: directory PITR_SCRATCH_DIR/<name> and port PITR_SCRATCH_PORT.

pitr_scratch_dir() {
  printf '%s/%s\n' "${PITR_SCRATCH_DIR:-${STATE_DIRECTORY:-/tmp}}" "$1"
}

# pitr_scratch_pgdata <name>: the data directory pgBackRest restores into.
pitr_scratch_pgdata() {
  if [ "${DB_ACCESS:-docker}" = docker ]; then
    printf '%s\n' "$PITR_PGDATA_IN_CONTAINER"
  else
    printf '%s/pgdata\n' "$(pitr_scratch_dir "$1")"
  fi
}

# pitr_scratch_exists <name>: whether a volume or directory of that name is there.
pitr_scratch_exists() {
  if [ "${DB_ACCESS:-docker}" = docker ]; then
    job_docker "${DOCKER_TIMEOUT_SECONDS:-60}" volume inspect "$1" >/dev/null 2>&1
  else
    [ -e "$(pitr_scratch_dir "$1")" ]
  fi
}

# pitr_scratch_env_file <file>: (docker) the live container's PGBACKREST_* settings, secrets
# included, for the scratch container (mode 0600, in the run's private work directory).
pitr_scratch_env_file() {
  (umask 077 && job_docker "${DOCKER_TIMEOUT_SECONDS:-60}" inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$PITR_CONTAINER" | grep '^PGBACKREST_' >"$1")
}

# pitr_scratch_create <name> [labels...]: the new, empty volume or directory.
pitr_scratch_create() {
  local name=$1 dir
  shift
  if [ "${DB_ACCESS:-docker}" = docker ]; then
    local args=() l
    for l in "$@"; do args+=(--label "$l"); done
    job_docker "${DOCKER_TIMEOUT_SECONDS:-60}" volume create "${args[@]}" "$name" >/dev/null
  else
    dir=$(pitr_scratch_dir "$name")
    install -d -m 0755 "$(dirname "$dir")" &&
      install -d -m 0700 -o "${PITR_LOCAL_USER:-postgres}" "$dir" "$dir/pgdata"
  fi
}

# pitr_scratch_restore <name> <env file|-> <seconds> <pgbackrest restore args...>: restores into
# the scratch cluster's data directory, as the database's OS user, within <seconds>.
pitr_scratch_restore() {
  local name=$1 env_file=$2 seconds=$3
  shift 3
  if [ "${DB_ACCESS:-docker}" = docker ]; then
    # shellcheck disable=SC2016 # "$1" and "$@" are the container shell's
    timeout --kill-after=10 $((seconds + 60)) "${DOCKER:-docker}" run --rm --name "$name-restore" -u postgres \
      --network "$PITR_NETWORK" --env-file "$env_file" --security-opt no-new-privileges:true --cap-drop ALL \
      --volume "$name:/var/lib/postgresql/data" --entrypoint sh "$(pitr_live_image)" \
      -c 'mkdir -p -m 0700 "$1" && shift && exec "$@"' sh "$PITR_PGDATA_IN_CONTAINER" \
      timeout "$seconds" pgbackrest --log-level-stderr=off --pg1-path="$PITR_PGDATA_IN_CONTAINER" "$@" restore 2>&1
  else
    timeout --kill-after=10 $((seconds + 30)) runuser -u "${PITR_LOCAL_USER:-postgres}" -- \
      timeout "$seconds" pgbackrest --log-level-stderr=off --pg1-path="$(pitr_scratch_pgdata "$name")" "$@" restore 2>&1
  fi
}

# pitr_live_image: (docker) the image id the live container runs (the derived image with pgBackRest).
pitr_live_image() {
  job_docker "${DOCKER_TIMEOUT_SECONDS:-60}" inspect --format '{{.Image}}' "$PITR_CONTAINER"
}

# pitr_scratch_start <name> <env file|-> <listen: none|loopback> [port]: starts the restored
# cluster without waiting (recovery runs in it). hot_standby=off: no connection is accepted
# before recovery has ended, and `ready` in postmaster.pid then means recovered and promoted.
# With loopback it is published on 127.0.0.1:<port>; with none it has its socket only.
pitr_scratch_start() {
  local name=$1 env_file=$2 listen=$3 port=${4:-} dir
  if [ "${DB_ACCESS:-docker}" = docker ]; then
    local publish=() addresses="''"
    if [ "$listen" = loopback ]; then
      publish=(--publish "127.0.0.1:$port:5432")
      addresses='*'
    fi
    job_docker "${DOCKER_TIMEOUT_SECONDS:-60}" run -d --name "$name" -u postgres --network "$PITR_NETWORK" \
      --env-file "$env_file" --security-opt no-new-privileges:true --cap-drop ALL --memory "${PITR_MEMORY_MB:-512}m" \
      --label "vps.pitr-scratch=$name" "${publish[@]}" --volume "$name:/var/lib/postgresql/data" \
      --entrypoint postgres "$(pitr_live_image)" -D "$PITR_PGDATA_IN_CONTAINER" \
      -c hot_standby=off -c "listen_addresses=$addresses" -c port=5432 >/dev/null
  else
    dir=$(pitr_scratch_dir "$name")
    local addresses="''"
    [ "$listen" != loopback ] || addresses=127.0.0.1
    runuser -u "${PITR_LOCAL_USER:-postgres}" -- "$PITR_PG_BINDIR/pg_ctl" -D "$dir/pgdata" -l "$dir/server.log" \
      -o "-p ${port:-${PITR_SCRATCH_PORT:-55439}} -c hot_standby=off -c listen_addresses=$addresses -k $dir" start >/dev/null
  fi
}

# pitr_scratch_running <name>: whether the scratch server process is there.
pitr_scratch_running() {
  if [ "${DB_ACCESS:-docker}" = docker ]; then
    [ "$(job_docker "${DOCKER_TIMEOUT_SECONDS:-60}" inspect --format '{{.State.Running}}' "$1" 2>/dev/null)" = true ]
  else
    runuser -u "${PITR_LOCAL_USER:-postgres}" -- "$PITR_PG_BINDIR/pg_ctl" -D "$(pitr_scratch_dir "$1")/pgdata" status >/dev/null 2>&1
  fi
}

# pitr_scratch_wait_ready <name> <seconds>: waits until recovery has ended and the server
# accepts connections: line 8 of postmaster.pid reads "ready". `pg_ctl -w start` returns
# before that (it returned 0, and the postmaster died 14 s later). Status 1 when the server
# stopped (recovery failed: see pitr_scratch_log) or the time is up.
pitr_scratch_wait_ready() {
  local name=$1 end=$(($(date +%s) + $2)) state pidfile started=0
  pidfile="$(pitr_scratch_pgdata "$name")/postmaster.pid"
  while :; do
    if [ "${DB_ACCESS:-docker}" = docker ]; then
      state=$(job_docker "${DOCKER_TIMEOUT_SECONDS:-60}" exec "$name" sed -n 8p "$pidfile" 2>/dev/null) || state=""
    else
      state=$(sed -n 8p "$pidfile" 2>/dev/null) || state=""
    fi
    state=${state//[[:space:]]/}
    [ "$state" != ready ] || return 0
    [ -z "$state" ] || started=1
    if ! pitr_scratch_running "$name"; then
      # pg_ctl start forks: give the postmaster a moment to write its pid file.
      if [ "$started" = 1 ] || [ $(($(date +%s) + $2 - end)) -ge 5 ]; then
        echo "pitr: the restored server stopped before it was ready (recovery failed)" >&2
        return 1
      fi
    fi
    if [ "$(date +%s)" -ge "$end" ]; then
      echo "pitr: the restored server was not ready within $2 s" >&2
      return 1
    fi
    sleep 0.2
  done
}

# pitr_scratch_psql <name> <database> <sql>: SQL in the scratch cluster; prints the rows.
pitr_scratch_psql() {
  local name=$1
  if [ "${DB_ACCESS:-docker}" = docker ]; then
    job_docker "${DOCKER_TIMEOUT_SECONDS:-60}" exec -u postgres "$name" psql -X --no-password -v ON_ERROR_STOP=1 -qtA -U "$PITR_PG_USER" -d "$2" -c "$3"
  else
    timeout --kill-after=5 "${DOCKER_TIMEOUT_SECONDS:-60}" runuser -u "${PITR_LOCAL_USER:-postgres}" -- \
      psql -X --no-password -v ON_ERROR_STOP=1 -qtA -h "$(pitr_scratch_dir "$name")" -p "${PITR_SCRATCH_PORT:-55439}" -U "$PITR_PG_USER" -d "$2" -c "$3"
  fi
}

# pitr_scratch_log <name>: the server's last log lines (why recovery failed).
pitr_scratch_log() {
  if [ "${DB_ACCESS:-docker}" = docker ]; then
    job_docker "${DOCKER_TIMEOUT_SECONDS:-60}" logs --tail 25 "$1" 2>&1
  else
    tail -n 25 "$(pitr_scratch_dir "$1")/server.log" 2>/dev/null
  fi
}

# pitr_scratch_stop <name>: a clean shutdown of the scratch server (the volume or directory stays).
pitr_scratch_stop() {
  if [ "${DB_ACCESS:-docker}" = docker ]; then
    job_docker $((${DOCKER_TIMEOUT_SECONDS:-60} + 60)) stop -t 60 "$1" >/dev/null 2>&1 || true
    job_docker "${DOCKER_TIMEOUT_SECONDS:-60}" rm -f "$1" >/dev/null 2>&1 || true
  else
    runuser -u "${PITR_LOCAL_USER:-postgres}" -- "$PITR_PG_BINDIR/pg_ctl" -D "$(pitr_scratch_dir "$1")/pgdata" -m fast -w -t 60 stop >/dev/null 2>&1 || true
  fi
}

# pitr_scratch_remove <name>: stops the server and removes its volume or directory.
pitr_scratch_remove() {
  if [ "${DB_ACCESS:-docker}" = docker ]; then
    job_docker "${DOCKER_TIMEOUT_SECONDS:-60}" rm -f "$1" "$1-restore" >/dev/null 2>&1 || true
    job_docker "${DOCKER_TIMEOUT_SECONDS:-60}" volume rm -f "$1" >/dev/null 2>&1
  else
    runuser -u "${PITR_LOCAL_USER:-postgres}" -- "$PITR_PG_BINDIR/pg_ctl" -D "$(pitr_scratch_dir "$1")/pgdata" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    rm -rf "$(pitr_scratch_dir "$1")"
  fi
}

# pitr_restore_to <name> <set label> <target timestamp> <env file|->: the restore of a
# scratch cluster: pgBackRest restore of the set with recovery to the target, then promote.
# --archive-mode=off: the restored cluster must never push its new timeline into this
# environment's archive (it would, with the live cluster's archive_command copied).
pitr_restore_to() {
  local name=$1 set=$2 target=$3 env_file=$4
  pitr_scratch_restore "$name" "$env_file" "${PITR_RESTORE_TIMEOUT_SECONDS:-3000}" \
    --set="$set" --type=time "--target=$target" --target-action=promote --archive-mode=off --log-level-console=warn
}
