#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Backs up every PostgreSQL database, Redis instance and service volume of one environment to its bucket,
# then reports success or failure to the environment's alert webhook. Installed and run
# daily by the BackupJob component (systemd timer); can be run by hand with the same env file.
#
# What it does, per PostgreSQL database: `pg_dump --format=custom` (compressed) streamed
# through sha256sum into a multipart upload at <prefix>daily/postgres-<db>-<stamp>-<run>.dump;
# per Redis instance: the RDB snapshot from `redis-cli --rdb` (diskless replication sync,
# no BGSAVE on the server's disk), checked and counted by redis-check-rdb where the
# instance has it, at <prefix>daily/redis-<container>-<stamp>-<run>.rdb with its key count
# in "<key>.manifest" (what the weekly restore check compares a load against); per service
# volume: a tar archive of the volume's directory at <prefix>daily/volume-<volume>-<stamp>-<run>.tar,
# with its entry count in "<key>.manifest". The archive is one moment of the data: the running
# containers that mount the volume are paused (`docker pause`: frozen, not stopped) while tar
# writes it to the work directory, at most VOLUME_PAUSE_TIMEOUT_SECONDS, and unpaused on every
# path out (a failure, a signal); only then is it streamed to the store. <run> is 8
# hex digits unique to the run: a re-run with the same BACKUP_TIME never touches the
# objects of another run. On Sundays the backup is also copied (server-side) to weekly/, on
# the 1st of a month to monthly/. Retention (daily 30 days, ...) is the bucket's lifecycle
# rules, not this script. One run at a time per bucket and prefix (a lock in /run/lock): a
# second run exits 3 and touches nothing.
#
# Guarantee ("no backup reported that cannot be restored"): a backup is complete only when
# its "<key>.sha256" sidecar exists and matches (see s3.sh). The sidecar is uploaded last,
# only after every stage of the stream exited 0 (the dump, tee, sha256sum, wc and the
# upload, each checked on its own), the checksum is 64 hex digits, the byte count is a
# number, the stored size equals it, and the sidecar line is "<64 hex>  <name>"; it is read
# back after the upload. On any failure the script deletes what this run uploaded for that
# backup (best effort: if the store is unreachable, what is left has no sidecar and is
# ignored by restore.sh and the checks). Each database is attempted even when an earlier one
# failed. On SIGTERM/SIGINT (systemd stop or timeout) it deletes the backup in progress and
# alerts. A BACKUP_TIME in the future is refused: a backup stamped later than it was made
# would pass for the newest.
#
# How the databases are reached (DB_ACCESS):
#   docker  (default, the VPS)  `docker exec -i <container> pg_dump -U <user> <db>` and
#                                `docker exec <container> redis-cli --rdb ...`, each within a
#                                time limit (db.sh); a Docker daemon that does not answer
#                                `docker version` in DOCKER_TIMEOUT_SECONDS fails the run at once
#   local   (tests, bench)      pg_dump/redis-cli on this host; PostgreSQL from libpq's
#                                PGHOST/PGPORT(/PGPASSWORD), Redis from REDIS_HOST/REDIS_PORT
#                                (default 127.0.0.1:6379); the container name only names the key
#
# Environment (the job's root-only env file, /etc/vps-jobs/<unit>.env):
#   BACKUP_POSTGRES   space-separated "<container>:<database>:<user>" entries
#   BACKUP_REDIS      space-separated Redis container names (may be empty)
#   BACKUP_VOLUMES    space-separated Docker volume names of the services (may be empty); read
#                     from their directory on this host (docker volume inspect), as root
#   VOLUME_PAUSE_TIMEOUT_SECONDS  how long tar may keep a volume's containers paused; default 600
#   DB_ACCESS         docker | local (above)
#   S3_BUCKET, S3_PREFIX, S3_REGION, S3_ENDPOINT, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY  (s3.sh)
#   ALERT_WEBHOOK_URL, ALERT_WEBHOOK_FORMAT, ALERT_PREFIX, ALERT_WEBHOOK_TIMEOUT_SECONDS   (notify.sh)
#   REDISCLI_AUTH     optional password of the Redis instances (read by redis-cli)
#   BACKUP_TIME       optional ISO time to use instead of now (the key stamp and the
#                     weekly/monthly choice), for a test or a re-run; UTC; not in the future
#   DB_TOOL_TIMEOUT_SECONDS, DOCKER_TIMEOUT_SECONDS (db.sh, job.sh), JOB_LOCK_DIR (job.sh)
#   METRICS_FILE, METRICS_LABELS   where the run's outcome goes for the host's monitoring (metrics.sh); optional
#
# Needs on the VPS: bash, coreutils (sha256sum, mkfifo, tee, wc, timeout), util-linux
# (flock), rclone, curl, tar (volumes), docker (DB_ACCESS=docker; pg_dump, redis-cli and redis-check-rdb
# come from the database images).
# Needs for DB_ACCESS=local: pg_dump (postgresql-client), redis-cli and redis-check-rdb (redis-tools).
#
# Exit status: 0 all backups complete and reported; 1 a backup failed (alert sent);
# 2 bad configuration; 3 another run holds the lock (warning sent, nothing done);
# 4 all backups complete but the webhook did not take the report; 128+n killed by signal n
# (alert sent).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Installed side by side; shellcheck -x follows them from this directory.
# shellcheck source=notify.sh
. "$here/notify.sh"
# shellcheck source=job.sh
. "$here/job.sh"
# shellcheck source=s3.sh
. "$here/s3.sh"
# shellcheck source=db.sh
. "$here/db.sh"
# shellcheck source=metrics.sh
. "$here/metrics.sh"
JOB_NAME=backup
job_check_backup_config

now=${BACKUP_TIME:-now}
stamp=$(date -u -d "$now" +%Y%m%dT%H%M%SZ) || job_fail_config "BACKUP_TIME '$now' is not a date"
if [ "$(date -u -d "$now" +%s)" -gt $(($(date -u +%s) + S3_CLOCK_SKEW_SECONDS)) ]; then
  job_fail_config "BACKUP_TIME '$now' is in the future: a backup stamped $stamp would pass for the newest one"
fi
tiers=(daily)
[ "$(date -u -d "$now" +%u)" = 7 ] && tiers+=(weekly)
[ "$(date -u -d "$now" +%d)" = 01 ] && tiers+=(monthly)
run_id=$(job_run_id)
target="s3://$S3_BUCKET/${S3_PREFIX}"

# One run per bucket and prefix at a time, whoever starts it (the timer or a person).
lock_status=0
job_lock "backup-$(printf '%s' "$S3_BUCKET/$S3_PREFIX" | sha256sum | cut -c1-16)" || lock_status=$?
if [ "$lock_status" -ne 0 ]; then
  notify warning "backup not run: another backup to $target has been running since $(date -u -d "@${JOB_LOCK_HELD_SINCE%% *}" +%H:%M:%SZ) ($JOB_LOCK_FILE); this run did nothing" || true
  exit 3
fi

if [ "${DB_ACCESS:-docker}" = docker ] && ! ping_err=$(job_docker_ping 2>&1); then
  notify failure "backup $stamp to $target FAILED before it started: $ping_err" || true
  metrics_backup_run 0
  exit 1
fi

# Only Redis snapshots and volume archives touch the disk (PostgreSQL dumps stream).
work=$(job_work_dir backup) || job_fail_config "cannot create a work directory in ${STATE_DIRECTORY:-${TMPDIR:-/tmp}}"
trap 'rm -rf "$work"' EXIT

failures=()
done_lines=()
# The objects of the backup in progress, deleted when the run is interrupted.
in_progress=()

# The containers this run has paused (volume_archive), unpaused whatever happens.
paused=()

# unpause_all: unpauses what volume_archive paused; says so on stderr when one refuses.
unpause_all() {
  local c
  for c in "${paused[@]}"; do
    job_docker "${DOCKER_TIMEOUT_SECONDS:-60}" unpause "$c" >/dev/null 2>&1 || echo "could not unpause container ${c:0:12}: run docker unpause ${c:0:12}" >&2
  done
  paused=()
}

# job_cleanup (job.sh, on SIGTERM/SIGINT): unpauses what it paused, deletes what this run
# uploaded for the backup in progress, with few retries: systemd allows 90 s before SIGKILL.
job_cleanup() {
  unpause_all
  [ "${#in_progress[@]}" -gt 0 ] || return 0
  local k
  for k in "${in_progress[@]}"; do
    s3_delete "$k" quick 2>/dev/null || true
  done
  printf 'removed %s' "${in_progress[0]}"
}
job_trap_signals

# redis_rdb <container> <file>: writes the instance's RDB snapshot to <file>, checks it with
# redis-check-rdb where available (its "[info] N keys read" goes to stderr).
# redis-cli writes to a file, not stdout: on stdout a diskless sync leaves the 40-byte
# EOF mark after the RDB, which only a file can be truncated to.
redis_rdb() {
  local container=$1 file=$2
  local pass_auth=()
  # A password-protected Redis: REDISCLI_AUTH goes through the environment, never argv.
  [ -z "${REDISCLI_AUTH:-}" ] || pass_auth=(-e REDISCLI_AUTH)
  if [ "${DB_ACCESS:-docker}" = docker ]; then
    # shellcheck disable=SC2016 # expanded by the container's shell
    job_docker "${DB_TOOL_TIMEOUT_SECONDS:-3300}" exec "${pass_auth[@]}" "$container" sh -c \
      'f=$(mktemp) && redis-cli --rdb "$f" >&2 && { ! command -v redis-check-rdb >/dev/null || redis-check-rdb "$f" >&2; } && cat "$f"; s=$?; rm -f "$f"; exit $s' >"$file"
  else
    timeout --kill-after=5 "${DB_TOOL_TIMEOUT_SECONDS:-3300}" \
      redis-cli -h "${REDIS_HOST:-127.0.0.1}" -p "${REDIS_PORT:-6379}" --rdb "$file" >&2 || return
    if command -v redis-check-rdb >/dev/null; then
      redis-check-rdb "$file" >&2
    fi
  fi
}

# volume_archive <volume> <file>: writes a tar archive of the volume's directory to <file> and
# its entry count (files, directories, links below the top) to <file>.count, with the running
# containers that mount it paused meanwhile, so the archive is one moment of the data.
volume_archive() {
  local volume=$1 file=$2 dir users c rc=0
  dir=$(job_volume_dir "$volume") || return 1
  users=$(job_volume_users "$volume") || { echo "cannot list the containers of $volume" >&2; return 1; }
  for c in $users; do
    if ! job_docker "${DOCKER_TIMEOUT_SECONDS:-60}" pause "$c" >/dev/null; then
      echo "cannot pause container ${c:0:12}, which writes $volume" >&2
      unpause_all
      return 1
    fi
    paused+=("$c")
  done
  timeout --kill-after=5 "${VOLUME_PAUSE_TIMEOUT_SECONDS:-600}" \
    tar --create --file "$file" --directory "$dir" --numeric-owner --sparse . || rc=$?
  # Counted while still paused: what the archive holds.
  [ "$rc" -ne 0 ] || find "$dir" -mindepth 1 -printf x | wc -c >"$file.count" || rc=$?
  unpause_all
  if [ "$rc" -ne 0 ]; then
    echo "tar of $dir failed (exit $rc; 124: longer than VOLUME_PAUSE_TIMEOUT_SECONDS)" >&2
    return 1
  fi
}

# human <bytes>: a size for a person.
human() {
  if [ "$1" -ge 1048576 ]; then
    echo "$(($1 / 1048576)) MiB"
  elif [ "$1" -ge 1024 ]; then
    echo "$(($1 / 1024)) KiB"
  else
    echo "$1 B"
  fi
}

# last_lines <file>: the end of a tool's stderr, for an alert.
last_lines() {
  tail -n 3 "$1" 2>/dev/null | tr '\n' ' ' | cut -c1-400
}

# discard <key>: removes this run's incomplete backup: sidecar, manifest, object (best effort).
discard() {
  s3_delete "$1.sha256" quick 2>>"$work/discard.err" || true
  s3_delete "$1.manifest" quick 2>>"$work/discard.err" || true
  s3_delete "$1" quick 2>>"$work/discard.err" || true
  in_progress=()
}

# fail_backup <key> <message>: discards the backup and records the failure.
fail_backup() {
  discard "$1"
  failures+=("$2")
  JOB_DOING=""
  return 1
}

# backup_stream <name> <ext> <manifest> <command...>: uploads the command's stdout as the
# backup <name> (manifest: "" or lines stored as <key>.manifest), sidecar last, then copies
# it into the weekly/monthly tiers. Records the outcome in failures/done_lines; returns
# non-zero on failure. Checks every status itself: it runs under `|| true`, where set -e is off.
backup_stream() {
  local name=$1 ext=$2 manifest=$3
  shift 3
  local base="$name-$stamp-$run_id.$ext" key sha size stored started elapsed tier line readback
  local sha_status=0 size_status=0 status
  key="${S3_PREFIX}daily/$base"
  started=$(date +%s)
  JOB_DOING="uploading $key"
  in_progress=("$key" "$key.manifest" "$key.sha256")
  rm -f "$work/sha.fifo" "$work/size.fifo" "$work/"*.err "$work/sha" "$work/size"
  mkfifo "$work/sha.fifo" "$work/size.fifo" || {
    failures+=("$name: cannot create the checksum pipes in $work")
    return 1
  }
  sha256sum <"$work/sha.fifo" >"$work/sha" 2>"$work/sha.err" &
  local sha_pid=$!
  wc -c <"$work/size.fifo" >"$work/size" 2>"$work/size.err" &
  local size_pid=$!

  "$@" 2>"$work/producer.err" | tee "$work/sha.fifo" "$work/size.fifo" | s3_put_stream "$key" 2>"$work/upload.err"
  status=("${PIPESTATUS[@]}")
  # Each one on its own: `wait a b` returns only the last one's status.
  wait "$sha_pid" || sha_status=$?
  wait "$size_pid" || size_status=$?
  # An upload that stops makes tee and the dump die of SIGPIPE: name the upload first.
  if [ "${status[2]}" -ne 0 ]; then
    fail_backup "$key" "$name: upload to $key failed (exit ${status[2]}): $(last_lines "$work/upload.err")"
    return 1
  elif [ "${status[0]}" -ne 0 ]; then
    fail_backup "$key" "$name: dump failed (exit ${status[0]}): $(last_lines "$work/producer.err")"
    return 1
  elif [ "${status[1]}" -ne 0 ]; then
    fail_backup "$key" "$name: tee to the checksum failed (exit ${status[1]})"
    return 1
  fi
  sha=$(cut -d' ' -f1 <"$work/sha" 2>/dev/null) || sha=""
  size=$(tr -d ' ' <"$work/size" 2>/dev/null) || size=""
  if [ "$sha_status" -ne 0 ] || ! [[ "$sha" =~ ^[0-9a-f]{64}$ ]]; then
    fail_backup "$key" "$name: the checksum was not computed (sha256sum exit $sha_status, output '${sha:0:70}'; is $work full?) $(last_lines "$work/sha.err")"
    return 1
  fi
  if [ "$size_status" -ne 0 ] || ! [[ "$size" =~ ^[0-9]+$ ]]; then
    fail_backup "$key" "$name: the byte count of the dump was not computed (wc exit $size_status, output '${size:0:40}'; is $work full?) $(last_lines "$work/size.err")"
    return 1
  fi
  if [ "$size" -eq 0 ]; then
    fail_backup "$key" "$name: the dump was empty"
    return 1
  fi
  if ! stored=$(s3_size "$key" 2>"$work/upload.err") || ! [[ "$stored" =~ ^[0-9]+$ ]]; then
    fail_backup "$key" "$name: the size of the stored $key could not be read: $(last_lines "$work/upload.err")"
    return 1
  fi
  if [ "$stored" != "$size" ]; then
    fail_backup "$key" "$name: the store holds $stored bytes of $key, but $size bytes were dumped"
    return 1
  fi
  if [ -n "$manifest" ] && ! printf '%s\n' "$manifest" | s3_put_stream "$key.manifest" 2>"$work/upload.err"; then
    fail_backup "$key" "$name: manifest upload failed: $(last_lines "$work/upload.err")"
    return 1
  fi
  line="$sha  $base"
  if ! s3_sidecar_ok "$line" "$base"; then
    fail_backup "$key" "$name: refusing to write the sidecar '$line'"
    return 1
  fi
  if ! printf '%s\n' "$line" | s3_put_stream "$key.sha256" 2>"$work/upload.err"; then
    fail_backup "$key" "$name: sidecar upload failed: $(last_lines "$work/upload.err")"
    return 1
  fi
  if ! readback=$(s3_rclone cat "$(s3_path "$key.sha256")" 2>"$work/upload.err") || [ "$readback" != "$line" ]; then
    fail_backup "$key" "$name: the stored sidecar does not read back as written: $(last_lines "$work/upload.err")"
    return 1
  fi
  in_progress=()

  for tier in "${tiers[@]:1}"; do
    local copy="${S3_PREFIX}$tier/$base"
    JOB_DOING="copying $key to $tier/"
    in_progress=("$copy" "$copy.manifest" "$copy.sha256")
    local copied=1
    s3_copy "$key" "$copy" 2>"$work/upload.err" || copied=0
    if [ "$copied" = 1 ] && [ -n "$manifest" ]; then
      s3_copy "$key.manifest" "$copy.manifest" 2>>"$work/upload.err" || copied=0
    fi
    [ "$copied" = 0 ] || s3_copy "$key.sha256" "$copy.sha256" 2>>"$work/upload.err" || copied=0
    if [ "$copied" = 0 ]; then
      discard "$copy"
      failures+=("$name: $tier copy failed (the daily backup is complete): $(last_lines "$work/upload.err")")
      JOB_DOING=""
      return 1
    fi
    in_progress=()
  done
  JOB_DOING=""
  elapsed=$(($(date +%s) - started))
  done_lines+=("$name $(human "$size") in ${elapsed}s (sha256 ${sha:0:12}, run $run_id, ${tiers[*]})")
}

for entry in "${postgres_entries[@]}"; do
  IFS=: read -r container database user <<<"$entry"
  if [ -z "$container" ] || [ -z "$database" ] || [ -z "$user" ]; then
    failures+=("BACKUP_POSTGRES entry '$entry' is not <container>:<database>:<user>")
    continue
  fi
  backup_stream "postgres-$database" dump "" \
    pg_tool "$container" pg_dump --format=custom --no-password --username="$user" --dbname="$database" || true
done

for container in "${redis_entries[@]}"; do
  JOB_DOING="taking the snapshot of redis $container"
  rm -f "$work/redis.rdb"
  if ! redis_rdb "$container" "$work/redis.rdb" 2>"$work/redis.err"; then
    failures+=("redis-$container: snapshot failed: $(last_lines "$work/redis.err")")
    continue
  fi
  if [ ! -s "$work/redis.rdb" ] || [ "$(head -c 5 "$work/redis.rdb")" != REDIS ]; then
    failures+=("redis-$container: the snapshot is empty or not an RDB file: $(last_lines "$work/redis.err")")
    continue
  fi
  keys=$(sed -n 's/^\[info\] \([0-9][0-9]*\) keys read$/\1/p' "$work/redis.err" | tail -n 1)
  backup_stream "redis-$container" rdb "${keys:+redis_keys=$keys}" cat "$work/redis.rdb" || true
  rm -f "$work/redis.rdb"
done

for volume in "${volume_entries[@]}"; do
  JOB_DOING="archiving volume $volume"
  rm -f "$work/volume.tar" "$work/volume.tar.count"
  if ! volume_archive "$volume" "$work/volume.tar" 2>"$work/volume.err"; then
    failures+=("volume-$volume: archive failed: $(last_lines "$work/volume.err")")
    rm -f "$work/volume.tar"
    continue
  fi
  entries=$(tr -d ' \n' <"$work/volume.tar.count")
  backup_stream "volume-$volume" tar "volume_files=$entries" cat "$work/volume.tar" || true
  rm -f "$work/volume.tar" "$work/volume.tar.count"
done

metrics_backup_run "$([ "${#failures[@]}" -eq 0 ] && echo 1 || echo 0)"
if [ "${#failures[@]}" -gt 0 ]; then
  notify_failed_run "backup $stamp to $target" completed "${#failures[@]}" "${failures[@]}" "${done_lines[@]}" || true
  exit 1
fi
if ! notify ok "backup $stamp to $target: $(printf '%s; ' "${done_lines[@]}")"; then
  echo "backup: all backups are complete, but the webhook did not take the report" >&2
  exit 4
fi
